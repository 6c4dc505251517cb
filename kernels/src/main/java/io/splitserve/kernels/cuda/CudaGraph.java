package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;

/**
 * A captured and instantiated CUDA graph: the launches one piece of work makes on a stream, recorded once and
 * replayed with a single launch. Replays see new data only through device memory (lengths, positions, block
 * tables), never through new kernel arguments: JCuda 12.6 cannot update an instantiated graph, so callers
 * capture one graph per shape bucket.
 */
public final class CudaGraph implements AutoCloseable {
    private final CUgraph graph = new CUgraph();
    private final CUgraphExec exec = new CUgraphExec();

    private CudaGraph() {
    }

    /** Records what {@code work} launches on {@code stream} (nothing runs) and instantiates it. */
    public static CudaGraph capture(CudaStream stream, Runnable work) {
        CudaGraph g = new CudaGraph();
        cuStreamBeginCapture(stream.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
        try {
            work.run();
        } finally {
            cuStreamEndCapture(stream.stream(), g.graph);
        }
        cuGraphInstantiate(g.exec, g.graph, 0);
        return g;
    }

    /** Runs the recorded work on {@code stream}. */
    public void replay(CudaStream stream) {
        cuGraphLaunch(exec, stream.stream());
    }

    @Override
    public void close() {
        cuGraphExecDestroy(exec);
        cuGraphDestroy(graph);
    }
}
