"""Image generation: images per second and latency (median, p95) at 1, 4 and 16 concurrent
requests, through our path against the plain diffusers pipeline called once per request.

Our path is the one the "generate" queue's worker takes, short of the database: requests
waiting together are rendered by `fediverse.generation.render.render_asks` in one batched
pipeline call (up to 16, as the worker claims them), each picture then encoded for the web
(PNG with provenance, thumbnail, blurhash) and written to a media folder. Pipeline options
are ours (`--dtype`, `--vae`: FEDIVERSE_IMAGE_DTYPE and FEDIVERSE_IMAGE_VAE).

The baseline, in the same run and on the same weights: one plain diffusers pipeline call
per request (float32 on the CPU, float16 on CUDA, as diffusers' examples load them), one at
a time under a lock (a pipeline is not safe to call from two threads), then one PNG encode.

Clients are closed loops: each of N sends its next request when the last one is answered.
Latency is from sending to having the encoded image; CPU seconds are the whole process's.
The baseline runs every concurrency first, then ours. Ours has its own copy of the weights
(it casts them to its dtype), so the baseline stays plain diffusers.

Models: `tiny` (the built-in one), and `full`: an sd-turbo-architecture pipeline (the SD 2.1
UNet as sd-turbo configures it, the OpenCLIP-H text encoder, the full SD autoencoder, Euler
with 1 step, guidance 0, 512x512) built from configs with random weights: the same
computation as the real model, nothing downloaded.

    python bench/generation.py --model tiny
    python bench/generation.py --model full --vae tiny --concurrency 1,4 --requests 1
    python bench/generation.py --model full --vae tiny --concurrency 16 --requests 1
    python bench/generation.py --model full --device cuda --vae full
    python bench/generation.py --model full --parts --threads 1   # each stage alone
    python bench/generation.py --model full --vae tiny --check    # is ours (auto: bfloat16
        on a CPU with it) seeded, batch-independent, and close to float32? (no timings)
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fediverse.generation.render import render_asks  # noqa: E402
from fediverse.generation.requests import Ask  # noqa: E402
from fediverse.imaging import ImageOptions, ImagePipeline  # noqa: E402
from fediverse.imaging.pipeline import install_pipeline  # noqa: E402
from fediverse.imaging.request import MAX_BATCH  # noqa: E402

FULL_NAME = "random/sd-turbo"  # named like sd-turbo, so sd-turbo's defaults apply
PROMPTS = ["a lighthouse in fog", "a red boat on a calm lake", "an owl in a pine tree",
           "a city street at night, rain", "a bowl of oranges on a table"]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    import torch

    return (f"nproc {len(os.sched_getaffinity(0))}, {model}, torch {torch.__version__} "
            f"({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build_full_components() -> dict[str, Any]:
    """sd-turbo's architecture (configs as published for it), random weights, float32."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from fediverse.imaging.tiny import MAX_TOKENS, build_tokenizer

    tokenizer = build_tokenizer()  # byte-level: same sequence length (77) as CLIP's
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=1024,
            attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        )
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
            block_out_channels=(128, 256, 512, 512), sample_size=512,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
        )
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
            num_attention_heads=16, max_position_embeddings=MAX_TOKENS, hidden_act="gelu",
            projection_dim=512, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        ))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        timestep_spacing="trailing", steps_offset=1,
    )
    for module in (unet, vae, text_encoder):
        module.eval()
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler, "safety_checker": None, "feature_extractor": None,
            "image_encoder": None}


@dataclass
class Setup:
    name: str  # what get_pipeline knows it by
    baseline: Any  # the plain diffusers pipeline
    ours: ImagePipeline
    steps: int
    side: int
    guidance: float


def setup(model: str, device: str, options: ImageOptions) -> Setup:
    import torch
    from diffusers import StableDiffusionPipeline

    from fediverse.imaging.tiny import build_components

    components = build_full_components() if model == "full" else build_components()
    plain = StableDiffusionPipeline(**components, requires_safety_checker=False)
    if device != "cpu":
        plain = plain.to(device, torch.float16)
    plain.set_progress_bar_config(disable=True)
    name = FULL_NAME if model == "full" else "tiny"

    def build() -> Any:  # our own pipeline on a copy of the weights: ours casts them
        return StableDiffusionPipeline(**copy.deepcopy(plain.components),
                                       requires_safety_checker=False)

    ours = ImagePipeline(name, device, options, build=build)
    install_pipeline(ours)
    chosen = ours.settings()
    return Setup(name=name, baseline=plain, ours=ours, steps=chosen.steps, side=chosen.width,
                 guidance=chosen.guidance or 0.0)


def png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def baseline_request(s: Setup, device: str) -> Callable[[int], None]:
    import torch

    lock = threading.Lock()

    def one(seed: int) -> None:
        with lock:
            image = s.baseline(PROMPTS[seed % len(PROMPTS)], num_inference_steps=s.steps,
                               guidance_scale=s.guidance, width=s.side, height=s.side,
                               generator=torch.Generator("cpu").manual_seed(seed)).images[0]
        png(image)

    return one


class Batcher:
    """Requests waiting together go into one render_asks call, as the worker claims them."""

    def __init__(self, s: Setup, device: str, media: Path) -> None:
        self.s, self.device, self.media = s, device, media
        self.waiting: SimpleQueue[tuple[Ask, Future[None]] | None] = SimpleQueue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.batches: list[int] = []

    def request(self, seed: int) -> None:
        done: Future[None] = Future()
        ask = Ask(prompt=PROMPTS[seed % len(PROMPTS)], seed=seed, steps=self.s.steps,
                  width=self.s.side, height=self.s.side)
        self.waiting.put((ask, done))
        done.result()

    def close(self) -> None:
        self.waiting.put(None)
        self.thread.join()

    def _run(self) -> None:
        while True:
            first = self.waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self.waiting.get_nowait()
                except Empty:
                    break
                if item is None:
                    self.waiting.put(None)
                    break
                batch.append(item)
            self.batches.append(len(batch))
            try:
                render_asks(self.s.name, self.device, self.media, [ask for ask, _ in batch],
                            options=self.s.ours.options)
            except Exception as error:  # noqa: BLE001 - handed to the waiting clients
                for _, done in batch:
                    done.set_exception(error)
            else:
                for _, done in batch:
                    done.set_result(None)


@dataclass
class Result:
    images: int
    seconds: float
    latencies: list[float]
    cpu: float  # the process's CPU seconds, all threads

    @property
    def per_second(self) -> float:
        return self.images / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def drive(one: Callable[[int], None], clients: int, per_client: int) -> Result:
    """`clients` threads, each sending `per_client` requests one after another."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        for turn in range(per_client):
            sent = time.perf_counter()
            try:
                one(1000 * index + turn)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                return
            with lock:
                latencies.append(time.perf_counter() - sent)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return Result(images=len(latencies), seconds=time.perf_counter() - started,
                  latencies=latencies, cpu=time.process_time() - cpu)


def parts(model: str, repeats: int) -> None:
    """Each stage of one image alone, float32 on the CPU: wall and CPU seconds (CPU seconds
    are steadier on a shared machine; with --threads 1 they are the work itself)."""
    import torch
    from diffusers import AutoencoderTiny

    from fediverse.imaging.tiny import build_autoencoder, build_components

    c = build_full_components() if model == "full" else build_components()
    side = 64 if model == "full" else 8
    tiny_vae = AutoencoderTiny().eval() if model == "full" else build_autoencoder(small=True)
    latents = torch.randn(1, 4, side, side)
    ids = c["tokenizer"](["a lighthouse in fog"], padding="max_length", max_length=77,
                         return_tensors="pt").input_ids
    hidden = c["text_encoder"](ids)[0].detach()

    def measure(name: str, run: Callable[[], Any]) -> None:
        run()  # warm-up
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"| {name} | {statistics.median(walls):.2f} s | {statistics.median(cpus):.2f} s |"
              f" {load_average()} |", flush=True)

    print("| stage | wall | CPU | load average |")
    print("| --- | --- | --- | --- |")
    with torch.inference_mode():
        measure("text encoder", lambda: c["text_encoder"](ids))
        measure("UNet, 1 step", lambda: c["unet"](latents, 999, encoder_hidden_states=hidden))
        measure("full autoencoder decode", lambda: c["vae"].decode(latents))
        measure("tiny autoencoder decode", lambda: tiny_vae.decode(latents))
        tiny_vae.to(memory_format=torch.channels_last)
        measure("tiny autoencoder decode, channels_last",
                lambda: tiny_vae.decode(latents))


def agreement(s: Setup) -> None:
    """One prompt and seed through both paths: how far apart the pictures are (same weights,
    same starting noise; our autoencoder or precision may differ) and that neither is flat
    (a half-precision overflow gives NaN, then black)."""
    import numpy as np
    import torch

    prompt, seed = PROMPTS[0], 4242
    plain = s.baseline(prompt, num_inference_steps=s.steps, guidance_scale=s.guidance,
                       width=s.side, height=s.side,
                       generator=torch.Generator("cpu").manual_seed(seed)).images[0]
    ours = s.ours.generate([prompt], seeds=[seed], steps=s.steps, width=s.side,
                           height=s.side, guidance=s.guidance)[0]
    a, b = (np.asarray(image.convert("RGB"), dtype=np.int16) for image in (plain, ours))
    difference = np.abs(a - b)
    print(f"agreement, seed {seed}: mean abs difference {difference.mean():.2f} of 255, "
          f"max {difference.max()}; pixel std: baseline {a.std():.1f}, ours {b.std():.1f}",
          flush=True)


def check(s: Setup, device: str) -> None:
    """Our pipeline's pictures, in its dtype: the same seed twice gives the same pixels; a
    seed alone and inside a batch of 4 give the same pixels; none is NaN (black) or flat; and
    how far each is from the same seed through our path in float32 (same weights, same
    autoencoder), the most that precision alone changes."""
    import numpy as np

    from fediverse.imaging.loading import dtype_for

    seeds = [4242, 7, 99, 123456]
    prompts = [PROMPTS[seed % len(PROMPTS)] for seed in seeds]
    size = {"steps": s.steps, "width": s.side, "height": s.side, "guidance": s.guidance}

    def pixels(image: Any) -> Any:
        return np.asarray(image.convert("RGB"), dtype=np.int16)

    print(f"ours in {dtype_for(device, s.ours.options.dtype)}", flush=True)
    alone = [pixels(s.ours.generate([prompt], seeds=[seed], **size)[0])
             for prompt, seed in zip(prompts, seeds, strict=True)]
    again = pixels(s.ours.generate(prompts[:1], seeds=seeds[:1], **size)[0])
    batch = [pixels(image) for image in s.ours.generate(prompts, seeds=seeds, **size)]
    print(f"same seed twice: identical {np.array_equal(alone[0], again)}", flush=True)
    for seed, one, other in zip(seeds, alone, batch, strict=True):
        print(f"seed {seed}: alone vs in a batch of {len(seeds)}: identical "
              f"{np.array_equal(one, other)}, max abs difference {np.abs(one - other).max()}",
              flush=True)
    plain = s.baseline.components
    reference = ImagePipeline(s.name, device, dataclasses.replace(
        s.ours.options, dtype="float32", compile=False), build=lambda: type(s.baseline)(
            **copy.deepcopy(plain), requires_safety_checker=False))
    for prompt, seed, picture in zip(prompts, seeds, alone, strict=True):
        exact = pixels(reference.generate([prompt], seeds=[seed], **size)[0])
        difference = np.abs(picture - exact)
        print(f"seed {seed}: ours std {picture.std():.1f}, {len(np.unique(picture.reshape(-1, 3), axis=0))} "
              f"colours; float32 std {exact.std():.1f}; abs difference from float32: mean "
              f"{difference.mean():.2f}, p99 {np.percentile(difference, 99):.0f}, max "
              f"{difference.max()} of 255", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("tiny", "full"), default="tiny")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--dtype", default="auto", help="our FEDIVERSE_IMAGE_DTYPE")
    parser.add_argument("--vae", default="tiny", help="our FEDIVERSE_IMAGE_VAE (full or tiny)")
    parser.add_argument("--compile", action="store_true",
                        help="our FEDIVERSE_IMAGE_COMPILE=1: compiled in the warm-up, which is "
                             "batch 1; on CUDA a batch of another size compiles again within "
                             "its latency (the CPU runs the UNet one picture at a time)")
    parser.add_argument("--concurrency", default="1,4,16",
                        help="comma-separated concurrent requests")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per client (default: 3 for tiny, 1 for full)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--parts", action="store_true",
                        help="time each stage of one image instead (CPU, float32)")
    parser.add_argument("--threads", type=int, default=None, help="torch's CPU threads")
    parser.add_argument("--agreement", action="store_true",
                        help="compare one picture from each path (always on CUDA)")
    parser.add_argument("--check", action="store_true",
                        help="check our pictures instead of timing (see check())")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.parts:
        print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
        parts(args.model, args.requests or 2)
        return
    levels = [int(level) for level in args.concurrency.split(",")]
    per_client = args.requests or (3 if args.model == "tiny" else 1)
    options = ImageOptions(dtype=args.dtype, vae=args.vae, compile=args.compile)

    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
    started = time.perf_counter()
    s = setup(args.model, args.device, options)
    print(f"built {args.model} in {time.perf_counter() - started:.1f} s: {s.steps} step(s), "
          f"{s.side}x{s.side}, guidance {s.guidance:g}; ours: dtype {options.dtype}, "
          f"vae {options.vae}, compile {options.compile}", flush=True)
    if args.check:
        check(s, args.device)
        return
    results: dict[tuple[str, int], Result] = {}
    if not args.skip_baseline:
        plain = baseline_request(s, args.device)
        plain(999_999)  # warm-up
        for level in levels:
            results["baseline", level] = drive(plain, level, per_client)
            report("baseline", level, results["baseline", level])
    with tempfile.TemporaryDirectory(prefix="fediverse-bench-") as folder:
        batcher = Batcher(s, args.device, Path(folder))
        started = time.perf_counter()
        batcher.request(999_999)  # loads (prepares, compiles) our pipeline, and warms up
        print(f"ours ready in {time.perf_counter() - started:.1f} s (one image, with loading"
              f"{' and compiling' if options.compile else ''}); load {load_average()}",
              flush=True)
        if args.agreement or args.device != "cpu":
            agreement(s)
        for level in levels:
            batcher.batches.clear()
            results["ours", level] = drive(batcher.request, level, per_client)
            report("ours", level, results["ours", level], batcher.batches)
        batcher.close()
    print(f"load average after: {load_average()}")
    print()
    print("| concurrent | path | images/s | median latency | p95 latency | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for level in levels:
        base = results.get(("baseline", level))
        for path in ("baseline", "ours"):
            result = results.get((path, level))
            if result is None:
                continue
            ratio = f"{result.per_second / base.per_second:.2f}x" if base and path == "ours" \
                else ""
            print(f"| {level} | {path} | {result.per_second:.3f} | {result.median:.2f} s | "
                  f"{result.p95:.2f} s | {ratio} |")


def report(path: str, level: int, result: Result, batches: list[int] | None = None) -> None:
    sizes = f", batches {batches}" if batches else ""
    print(f"{path:8} x{level:<2}: {result.images} images in {result.seconds:.1f} s "
          f"(CPU {result.cpu:.1f} s), "
          f"{result.per_second:.3f}/s, median {result.median:.2f} s, p95 {result.p95:.2f} s"
          f"{sizes}; load {load_average()}", flush=True)


if __name__ == "__main__":
    main()
