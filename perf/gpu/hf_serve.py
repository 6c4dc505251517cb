"""Transformers as a server, replaying the load generator's open-loop schedule on one GPU.

The baseline for SplitServe's rate sweeps: `splitserve bench load ... --rate R --write-schedule FILE` writes the exact
requests and arrival offsets an open-loop run sends (JSON lines: index, at_s, prompt, prompt_tokens, max_tokens,
rate, duration_s); this script serves them in real time with Hugging Face transformers and measures them as the
load generator measures SplitServe: every latency runs from the request's scheduled arrival (no coordinated
omission), TTFT to its first token, TPOT = (last - first) / (max_tokens - 1), end-to-end to its max_tokens-th token;
goodput counts requests meeting both SLOs over max(last completion, schedule duration); requests not finished by
--time-limit (seconds from the schedule's start) are failures and miss the SLO.

Modes:
- batch (default): the best simple server on `generate`. Whenever the GPU is free, every request that has arrived
  (up to --max-batch) is tokenized, left-padded and generated greedily as one batch, max_new_tokens and
  min_new_tokens both the batch's largest max_tokens (EOS ignored); a request's tokens are taken at the steps its
  own max_tokens reaches. A stopping criterion, called once per step after the step's token, synchronizes the
  device and reads the clock, so step times are when tokens really exist.
- cb: transformers' own continuous batching (`init_continuous_batching`, paged attention), requests added at their
  arrival times, per-token timestamps recorded by the manager, EOS disabled per request; its own warm-up (CUDA graph
  capture) runs before the clock.

Before the clock starts, every prompt is checked to encode to its prompt_tokens (a mismatch means the schedule was
made with another tokenizer: the script stops), and one small request warms the model up.

bf16 on "cuda", fp32 on the CPU (where it runs only for testing), sdpa attention.

usage: python3 hf_serve.py MODEL_DIR SCHEDULE.jsonl OUT.json [--mode batch|cb] [--max-batch 64] [--time-limit 120]
                           [--slo-ttft-ms 2000] [--slo-tpot-ms 100] [--label L]
Writes OUT.json, OUT.requests.csv (one row per request, the load generator's requests.csv columns; the longest
gap between tokens is not tracked here) and prints one Markdown table row (the header with --header).
"""
import argparse
import importlib.util
import json
import math
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList

START_LEAD_S = 0.02
REQUIRED = ("index", "at_s", "prompt", "prompt_tokens", "max_tokens")
TABLE_HEADER = ("| label | mode | rate (req/s) | requests | completed | TTFT P50 / P99 (ms) | TPOT P50 / P99 (ms) "
                "| E2E P99 (ms) | output tok/s | goodput (req/s) | attainment |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|")


class ScheduleError(Exception):
    """The schedule, or the model's tokenizer against it, is unusable; the message says why in one line."""


def load_schedule(path):
    requests = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except json.JSONDecodeError as e:
                raise ScheduleError(f"{path}:{number}: not JSON ({e})")
            missing = [k for k in REQUIRED if k not in request]
            if missing:
                raise ScheduleError(f"{path}:{number}: missing {', '.join(missing)}")
            if request["max_tokens"] < 1 or request["prompt_tokens"] < 1 or request["at_s"] < 0:
                raise ScheduleError(f"{path}:{number}: token counts must be positive and at_s not negative")
            requests.append(request)
    if not requests:
        raise ScheduleError(f"{path}: no requests")
    requests.sort(key=lambda r: r["at_s"])
    return requests


def check_prompt_lengths(tokenizer, requests):
    """Every prompt must encode to the length the load generator sized it to, or the comparison is void."""
    encoded = tokenizer([r["prompt"] for r in requests])["input_ids"]
    for request, ids in zip(requests, encoded):
        if len(ids) != request["prompt_tokens"]:
            raise ScheduleError(f"request {request['index']}: prompt encodes to {len(ids)} tokens, the schedule says "
                                f"{request['prompt_tokens']}: was it written with this model's tokenizer?")


class ServingError(Exception):
    """The serving loop itself failed (not one request): the run measures nothing."""


class StepClock(StoppingCriteria):
    """Called by generate once per step, after that step's token: records when the token existed on the device, and
    stops the whole batch once the time limit has passed (its unfinished requests fail anyway)."""

    def __init__(self, deadline, synchronize):
        self.deadline = deadline
        self.synchronize = synchronize
        self.times = []

    def __call__(self, input_ids, scores, **kwargs):
        self.synchronize()
        now = time.perf_counter()
        self.times.append(now)
        return torch.full((input_ids.shape[0],), now >= self.deadline, dtype=torch.bool, device=input_ids.device)


def synchronizer(device):
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def generate_batch(model, tokenizer, batch, deadline, device):
    """Runs one static batch; returns the wall time of each generation step (step k made every row's token k+1)."""
    inputs = tokenizer([r["prompt"] for r in batch], return_tensors="pt", padding=True).to(device)
    longest = max(r["max_tokens"] for r in batch)
    clock = StepClock(deadline, synchronizer(device))
    with torch.no_grad():
        model.generate(**inputs, max_new_tokens=longest, min_new_tokens=longest, do_sample=False,
                       repetition_penalty=1.0, pad_token_id=tokenizer.pad_token_id,
                       stopping_criteria=StoppingCriteriaList([clock]))
    if len(clock.times) != longest and clock.times[-1] < deadline:
        raise ServingError(f"generate stopped after {len(clock.times)} of {longest} tokens before the time limit")
    return clock.times


def serve_batches(model, tokenizer, requests, time_limit, max_batch, device):
    """Static batching on generate. Returns the schedule's start time and {index: (first token time, max_tokens-th
    token time)} for the requests that finished within the time limit."""
    generate_batch(model, tokenizer, [dict(requests[0], max_tokens=2)], float("inf"), device)  # warm-up
    origin = time.perf_counter() + START_LEAD_S
    deadline = origin + time_limit
    finished = {}
    next_up = 0
    while next_up < len(requests):
        now = time.perf_counter()
        if now >= deadline:
            break
        due = origin + requests[next_up]["at_s"]
        if due > now:
            time.sleep(min(due, deadline) - now)
            continue
        end = next_up
        while end < len(requests) and end - next_up < max_batch and origin + requests[end]["at_s"] <= now:
            end += 1
        batch = requests[next_up:end]
        next_up = end
        steps = generate_batch(model, tokenizer, batch, deadline, device)
        for r in batch:
            last = r["max_tokens"] - 1
            if last < len(steps) and steps[last] <= deadline:
                finished[r["index"]] = (steps[0], steps[last])
    return origin, finished


def continuous_batching_config(requests, max_batch, device):
    """On a GPU the manager sizes its paged cache from free memory; on the CPU it cannot, so the cache is made to
    hold every request of the schedule at once."""
    from transformers import ContinuousBatchingConfig

    if device == "cuda":
        return ContinuousBatchingConfig(max_requests_per_batch=max_batch)
    block = 256
    blocks = sum(math.ceil((r["prompt_tokens"] + r["max_tokens"]) / block) for r in requests) + 2
    return ContinuousBatchingConfig(max_requests_per_batch=max_batch, block_size=block, num_blocks=blocks,
                                    max_batch_tokens=max(block, max(r["prompt_tokens"] for r in requests)))


def serve_continuous(model, tokenizer, requests, time_limit, max_batch, device):
    """Transformers' continuous batching manager fed at the arrival times. Returns what serve_batches returns."""
    from transformers import GenerationConfig

    if device == "cpu" and importlib.util.find_spec("psutil") is None:
        raise ServingError("--mode cb on the CPU needs psutil: transformers checks its cache against free memory")
    config = GenerationConfig(do_sample=False, max_new_tokens=max(r["max_tokens"] for r in requests),
                              eos_token_id=-1, pad_token_id=tokenizer.pad_token_id)
    manager = model.init_continuous_batching(
        generation_config=config, continuous_batching_config=continuous_batching_config(requests, max_batch, device))
    ids = tokenizer([r["prompt"] for r in requests])["input_ids"]
    finished = {}
    manager.warmup()  # captures its CUDA graphs now, not while serving
    manager.start()
    try:
        warm = manager.add_request(ids[0], request_id="warm-up", max_new_tokens=2, eos_token_id=-1)
        result = None
        while result is None or not result.is_finished():
            if not manager.is_running():
                raise ServingError("the continuous batching manager stopped during the warm-up (its log says why)")
            result = manager.get_result(request_id=warm, timeout=1)
        if result.error is not None:
            raise ServingError(f"the continuous batching warm-up failed: {result.error}")
        origin = time.perf_counter() + START_LEAD_S
        deadline = origin + time_limit
        next_up = 0
        ended = 0
        while ended < len(requests):
            now = time.perf_counter()
            if now >= deadline:
                break
            if not manager.is_running():
                raise ServingError("the continuous batching manager stopped while serving (its log says why)")
            while next_up < len(requests) and origin + requests[next_up]["at_s"] <= now:
                r = requests[next_up]
                manager.add_request(ids[next_up], request_id=str(next_up), max_new_tokens=r["max_tokens"],
                                    record_timestamps=True, eos_token_id=-1)
                next_up += 1
            wait = deadline - now
            if next_up < len(requests):
                wait = min(wait, origin + requests[next_up]["at_s"] - now)
            result = manager.get_result(timeout=max(wait, 0.0005))
            if result is None or not result.is_finished() or result.request_id == warm:
                continue
            ended += 1
            r = requests[int(result.request_id)]
            stamps = result.timestamps or []
            if result.error is None and len(result.generated_tokens) == r["max_tokens"] \
                    and len(stamps) >= r["max_tokens"] and stamps[r["max_tokens"] - 1] <= deadline:
                finished[r["index"]] = (stamps[0], stamps[r["max_tokens"] - 1])
    finally:
        manager.stop(block=True, timeout=10, hard_stop=True)
    return origin, finished


def percentiles(values):
    """Nearest-rank percentiles (the value at or below which the share lies), as HdrHistogram reports them."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(p):
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": at(50), "p90": at(90), "p99": at(99), "max": ordered[-1]}


def summarize(requests, finished, origin, args, device):
    ttft, tpot, e2e, rows = [], [], [], []
    good = 0
    output_tokens = 0
    last_end = origin
    for r in requests:
        times = finished.get(r["index"])
        if times is None:
            rows.append(f'{r["at_s"]:.6f},{r["prompt_tokens"]},0,0.000,0.0000,0.000,,UNFINISHED')
            continue
        first, last = times
        arrival = origin + r["at_s"]
        request_ttft = 1e3 * (first - arrival)
        request_tpot = 1e3 * (last - first) / (r["max_tokens"] - 1) if r["max_tokens"] > 1 else 0.0
        ttft.append(request_ttft)
        if r["max_tokens"] > 1:
            tpot.append(request_tpot)
        e2e.append(1e3 * (last - arrival))
        rows.append(f'{r["at_s"]:.6f},{r["prompt_tokens"]},{r["max_tokens"]},{request_ttft:.3f},{request_tpot:.4f},'
                    f'{1e3 * (last - arrival):.3f},,OK')
        output_tokens += r["max_tokens"]
        last_end = max(last_end, last)
        if request_ttft <= args.slo_ttft_ms and request_tpot <= args.slo_tpot_ms:
            good += 1
    duration = requests[0].get("duration_s", requests[-1]["at_s"])
    elapsed = max(last_end - origin, duration)
    rate = requests[0].get("rate", len(requests) / duration if duration > 0 else float("nan"))
    return {
        "label": args.label, "mode": args.mode, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "rate": rate, "requests": len(requests), "completed": len(finished), "failed": len(requests) - len(finished),
        "elapsed_s": elapsed, "max_batch": args.max_batch, "time_limit_s": args.time_limit,
        "slo_ttft_ms": args.slo_ttft_ms, "slo_tpot_ms": args.slo_tpot_ms,
        "ttft_ms": percentiles(ttft), "tpot_ms": percentiles(tpot), "e2e_ms": percentiles(e2e),
        "output_tokens_per_s": output_tokens / elapsed, "goodput": good / elapsed, "attainment": good / len(requests),
        "rows": rows,
    }


def table_row(s):
    def ms(v):
        return "-" if v is None else f"{v:.1f}"

    return (f"| {s['label']} | {s['mode']} | {s['rate']:g} | {s['requests']} | {s['completed']} "
            f"| {ms(s['ttft_ms']['p50'])} / {ms(s['ttft_ms']['p99'])} | {ms(s['tpot_ms']['p50'])} / "
            f"{ms(s['tpot_ms']['p99'])} | {ms(s['e2e_ms']['p99'])} | {s['output_tokens_per_s']:.1f} "
            f"| {s['goodput']:.3f} | {100 * s['attainment']:.1f}% |")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("schedule")
    parser.add_argument("out")
    parser.add_argument("--mode", choices=("batch", "cb"), default="batch")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds from the schedule's start")
    parser.add_argument("--slo-ttft-ms", type=float, default=2000.0)
    parser.add_argument("--slo-tpot-ms", type=float, default=100.0)
    parser.add_argument("--label", default="transformers")
    parser.add_argument("--header", action="store_true", help="print the Markdown table header first")
    args = parser.parse_args(argv)
    if args.max_batch < 1 or not args.time_limit > 0:
        parser.error("--max-batch and --time-limit must be positive")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        requests = load_schedule(args.schedule)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        check_prompt_lengths(tokenizer, requests)
    except (ScheduleError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    model = AutoModelForCausalLM.from_pretrained(
        args.model_dir, dtype=torch.bfloat16 if device == "cuda" else torch.float32,
        attn_implementation="sdpa").to(device).eval()
    try:
        if args.mode == "batch":
            origin, finished = serve_batches(model, tokenizer, requests, args.time_limit, args.max_batch, device)
        else:
            origin, finished = serve_continuous(model, tokenizer, requests, args.time_limit, args.max_batch, device)
    except ServingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    summary = summarize(requests, finished, origin, args, device)
    rows = summary.pop("rows")
    csv_path = args.out[:-5] + ".requests.csv" if args.out.endswith(".json") else args.out + ".requests.csv"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write("start_s,prompt_tokens,output_tokens,ttft_ms,tpot_ms,e2e_ms,max_gap_ms,status\n")
        f.write("".join(row + "\n" for row in sorted(rows, key=lambda row: float(row.split(",")[0]))))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    if args.header:
        print(TABLE_HEADER)
    print(table_row(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
