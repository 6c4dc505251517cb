/**
 * KV cache streaming from prefill nodes to decode nodes over Aeron (IPC on one host, UDP across hosts).
 *
 * <p>Prefill side: a {@link io.splitserve.kvtransfer.KvSender}, owned by one thread, per decode node stream.
 * {@code begin(requestId, geometry, tokens)} opens a transfer and its lease; {@code sendLayer} (or {@code sendPart})
 * streams each layer's K and V as soon as they exist, laid out {@code [tokens][kvHeads][headDim]}; {@code end}
 * closes it with the first sampled token; {@code doWork()} reads acks and expires leases. The
 * {@link io.splitserve.kvtransfer.KvLeaseListener} hears exactly once per transfer when the prefill side may free
 * that request's KV.
 *
 * <p>Decode side: a {@link io.splitserve.kvtransfer.KvReceiver} agent scatters into a
 * {@link io.splitserve.kvtransfer.KvPageStore} (the decode engine's KV memory behind that interface; a
 * {@link io.splitserve.kvtransfer.HostKvPageStore} for the KV benchmark and tests) and hands verified sequences, with
 * the store's {@link io.splitserve.kvtransfer.KvReservation} handle, to a
 * {@link io.splitserve.kvtransfer.KvReceiveListener}.
 */
package io.splitserve.kvtransfer;
