package io.splitserve.perf.kv;

import static jcuda.driver.JCudaDriver.cuCtxDisablePeerAccess;
import static jcuda.driver.JCudaDriver.cuCtxEnablePeerAccess;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceCanAccessPeer;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemcpyPeerAsync;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.util.function.LongConsumer;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * What a same-host fast path could move: device-to-device copies from the prefill GPU into the decode GPU over their
 * peer link, with peer access enabled both ways on the GPUs' primary contexts (the ones the engines use). Each copy is
 * timed on the host from its launch until its stream has finished it, as a fast path would wait for it. At opening, a
 * known pattern is copied and read back from the decode GPU, so a figure is never reported for a copy that does not
 * arrive.
 *
 * <p>Owned by one thread; the contexts are made current on it as each call needs. Closing disables the peer access it
 * enabled and frees everything.
 */
final class PeerCopyMeter implements AutoCloseable {
    private static final String ALREADY_ENABLED =
            CUresult.stringFor(CUresult.CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);

    private final CUdevice srcDevice;
    private final CUdevice dstDevice;
    private final CUcontext srcContext = new CUcontext();
    private final CUcontext dstContext = new CUcontext();
    private boolean srcRetained;
    private boolean dstRetained;
    private boolean dstReadsSrc;
    private boolean srcReadsDst;
    private DeviceBuffer from;
    private DeviceBuffer to;
    private CudaStream stream;
    private final LongConsumer copy = this::copy;

    /**
     * Why GPU {@code src} cannot copy to GPU {@code dst} as a peer, in one line, or null when it can.
     */
    static String unsupportedReason(int src, int dst) {
        final String cuda = CudaDevice.unavailableReason();
        if (cuda != null) {
            return cuda;
        }
        if (src == dst) {
            return "prefill and decode share GPU " + src;
        }
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        final int[] count = {0};
        cuDeviceGetCount(count);
        if (Math.max(src, dst) >= count[0]) {
            return "GPU " + Math.max(src, dst) + " does not exist (" + count[0] + " present)";
        }
        final int[] dstReadsSrc = {0};
        final int[] srcReadsDst = {0};
        cuDeviceCanAccessPeer(dstReadsSrc, device(dst), device(src));
        cuDeviceCanAccessPeer(srcReadsDst, device(src), device(dst));
        if (dstReadsSrc[0] == 0 || srcReadsDst[0] == 0) {
            return "GPUs " + src + " and " + dst + " cannot access each other as peers";
        }
        return null;
    }

    /**
     * Opens both GPUs' primary contexts, enables peer access, allocates {@code maxBytes} on each and checks that a copy
     * arrives intact.
     *
     * @throws IllegalStateException when the GPUs cannot peer ({@link #unsupportedReason}) or the check copy differs.
     */
    static PeerCopyMeter open(int src, int dst, long maxBytes) {
        final String reason = unsupportedReason(src, dst);
        if (reason != null) {
            throw new IllegalStateException("no peer copy: " + reason);
        }
        final PeerCopyMeter meter = new PeerCopyMeter(device(src), device(dst));
        try {
            meter.allocate(maxBytes);
            meter.check(maxBytes);
            return meter;
        } catch (RuntimeException e) {
            meter.close();
            throw e;
        }
    }

    private PeerCopyMeter(CUdevice srcDevice, CUdevice dstDevice) {
        this.srcDevice = srcDevice;
        this.dstDevice = dstDevice;
    }

    private static CUdevice device(int ordinal) {
        final CUdevice device = new CUdevice();
        cuDeviceGet(device, ordinal);
        return device;
    }

    private void allocate(long bytes) {
        cuDevicePrimaryCtxRetain(srcContext, srcDevice);
        srcRetained = true;
        cuDevicePrimaryCtxRetain(dstContext, dstDevice);
        dstRetained = true;
        cuCtxSetCurrent(dstContext);
        dstReadsSrc = enablePeerAccess(srcContext);
        to = DeviceBuffer.allocate(bytes);
        stream = new CudaStream();
        cuCtxSetCurrent(srcContext);
        srcReadsDst = enablePeerAccess(dstContext);
        from = DeviceBuffer.allocate(bytes);
    }

    /** Enables the current context's access to {@code peer}; true when this call enabled it (and close undoes it). */
    private static boolean enablePeerAccess(CUcontext peer) {
        try {
            cuCtxEnablePeerAccess(peer, 0);
            return true;
        } catch (CudaException e) {
            if (ALREADY_ENABLED.equals(e.getMessage())) {
                return false;
            }
            throw e;
        }
    }

    private void check(long maxBytes) {
        final int[] pattern = CopyTiming.checkPattern(maxBytes);
        cuCtxSetCurrent(srcContext);
        from.copyFrom(pattern);
        cuCtxSetCurrent(dstContext);
        copy(4L * pattern.length);
        final int[] arrived = new int[pattern.length];
        to.copyTo(arrived);
        CopyTiming.requireIntact("peer", pattern, arrived);
    }

    /** Median rate, in GB/s (10^9 bytes per second), of {@code reps} copies of {@code bytes}, after one unmeasured. */
    double medianGbps(long bytes, int reps) {
        cuCtxSetCurrent(dstContext);
        return CopyTiming.medianGbps("peer", from.bytes(), copy, bytes, reps);
    }

    /** Copies on the decode GPU's stream; its context is current. */
    private void copy(long bytes) {
        cuMemcpyPeerAsync(to.pointer(), dstContext, from.pointer(), srcContext, bytes, stream.stream());
        stream.synchronize();
    }

    @Override
    public void close() {
        if (dstRetained) {
            cuCtxSetCurrent(dstContext);
            if (stream != null) {
                stream.close();
            }
            if (to != null) {
                to.close();
            }
            if (dstReadsSrc) {
                cuCtxDisablePeerAccess(srcContext);
            }
        }
        if (srcRetained) {
            cuCtxSetCurrent(srcContext);
            if (from != null) {
                from.close();
            }
            if (srcReadsDst) {
                cuCtxDisablePeerAccess(dstContext);
            }
        }
        if (dstRetained) {
            cuDevicePrimaryCtxRelease(dstDevice);
        }
        if (srcRetained) {
            cuDevicePrimaryCtxRelease(srcDevice);
        }
    }
}
