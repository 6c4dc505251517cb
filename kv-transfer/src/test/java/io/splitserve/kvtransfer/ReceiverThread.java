package io.splitserve.kvtransfer;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Runs a receiver's duty cycle on its own thread, as a decode node would. {@link #halt()} stops the loop without
 * closing the receiver, which is how a hung or killed process looks from outside.
 */
final class ReceiverThread implements AutoCloseable
{
    private final KvReceiver receiver;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;

    ReceiverThread(final KvReceiver receiver)
    {
        this.receiver = receiver;
        this.thread = new Thread(this::run, "kv-receiver-test");
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        final IdleStrategy idle = new BackoffIdleStrategy();
        try
        {
            while (running)
            {
                idle.idle(receiver.doWork());
            }
        }
        catch (final Throwable ex)
        {
            failure = ex;
        }
    }

    KvReceiver receiver()
    {
        return receiver;
    }

    /** Stops the duty cycle and waits for it; rethrows anything the receiver threw. */
    void halt()
    {
        running = false;
        try
        {
            thread.join(10_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (failure != null)
        {
            throw new AssertionError("receiver failed", failure);
        }
    }

    /** Halts, then closes the receiver as a clean shutdown would. */
    @Override
    public void close()
    {
        halt();
        receiver.close();
    }
}
