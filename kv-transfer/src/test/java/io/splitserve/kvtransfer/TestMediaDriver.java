package io.splitserve.kvtransfer;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.agrona.CloseHelper;

/**
 * An embedded media driver in its own directory under target/, with short liveness timeouts so that dead peers
 * are noticed within a test's time, and the Aeron clients connected to it. Closing it closes the clients first.
 */
final class TestMediaDriver implements AutoCloseable
{
    private final MediaDriver driver;
    private final List<Aeron> clients = new ArrayList<>();

    private TestMediaDriver(final MediaDriver driver)
    {
        this.driver = driver;
    }

    static TestMediaDriver launch(final String name, final Consumer<MediaDriver.Context> customizer)
    {
        final String dir = new File("target/aeron/" + name + "-" + System.nanoTime()).getAbsolutePath();
        final MediaDriver.Context ctx = new MediaDriver.Context()
            .aeronDirectoryName(dir)
            .threadingMode(ThreadingMode.SHARED)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .ipcTermBufferLength(16 * 1024 * 1024)
            .publicationTermBufferLength(16 * 1024 * 1024)
            .imageLivenessTimeoutNs(TimeUnit.MILLISECONDS.toNanos(500))
            .publicationLingerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(100))
            .publicationConnectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(500))
            .clientLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(2));
        customizer.accept(ctx);
        return new TestMediaDriver(MediaDriver.launchEmbedded(ctx));
    }

    static TestMediaDriver launch(final String name)
    {
        return launch(name, ctx -> { });
    }

    Aeron connect()
    {
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
        clients.add(aeron);
        return aeron;
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(clients);
        CloseHelper.close(driver);
    }
}
