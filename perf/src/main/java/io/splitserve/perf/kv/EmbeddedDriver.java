package io.splitserve.perf.kv;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;

/**
 * The media driver the KV benchmarks embed, set up once like the serving system's: shared threading, IPC and
 * publication terms of 16 MiB, its directory made fresh at start and removed at shutdown.
 */
final class EmbeddedDriver {
    private static final int TERM_BYTES = 16 * 1024 * 1024;

    private EmbeddedDriver() {
    }

    /** Launches a driver in {@code directory} whose IPC fragments carry {@code ipcMtu} bytes. */
    static MediaDriver launch(String directory, int ipcMtu) {
        return MediaDriver.launchEmbedded(new MediaDriver.Context()
                .aeronDirectoryName(directory)
                .threadingMode(ThreadingMode.SHARED)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .ipcTermBufferLength(TERM_BYTES)
                .ipcMtuLength(ipcMtu)
                .publicationTermBufferLength(TERM_BYTES));
    }
}
