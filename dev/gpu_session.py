"""How the GPU results in `nbs/results/` are made on a lent machine that has torch and triton but no network,
no nbdev and no `datasets`, with a time limit per command.

Here (CPU), once: `python dev/gpu_session.py prepare` tokenizes pg_books (`prepare_data`, ~2 min on two cores)
and packs what the GPU machine needs into `.device_data/` (git-ignored, under 64 MiB): the token streams
gzipped, the tokenizer, their sha256, and the fastcore wheel for `dev/gpu_cells.py`.

There, with `.device_data` carried: `DEADLINE=560 python dev/gpu_session.py suite cells check decode` runs the
named steps within DEADLINE seconds and leaves everything in $OUT:

- suite, paper, paper-reruns: `fibattn suite --preset gpu80m` (`paper`), resuming from `nbs/results/suite80m/`
  (`paper/`, `paper_reruns/`: seed 1 of two kinds trained again, whose `unpack` writes `rerun_noise.json`) and
  any checkpoints left in `runs/` by an earlier call on the same machine; KINDS="dense fib-stagger" and SEEDS="0"
  narrow it; suite.tgz (paper.tgz) holds the results, falsification tests and training logs (copy them into
  the results folder);
- cells: the `#| cuda` cells of the notebooks (`dev/gpu_cells.py`); op-cells: only those of 04_model and
  03_attention (opcheck, fullgraph compile of every kind), ~370 s;
- check: `fibattn bench check`; decode: `fibattn bench decode`; models: compiled + graphed training of dense,
  fib-fixed and fib-learned at ctx 512 x 64; long-models: the same at ctx 4096 x 8 and 32768 x 1, and their graphed
  inference latency; latency: graphed inference latency of those three kinds at batch 8 and 64, `reduce-overhead`
  graphs against one captured graph (`results/latency_captured.csv`); kernels: `fibattn bench kernels` up to
  N = 131072, SDPA and Flex side by side; roofline: `fibattn bench roofline`, the GPU time of the forward, dQ,
  dK/dV and decode kernels against their HBM floor at the copy rate measured in the run (roofline.csv: copy it
  to nbs/results/), ~240 s;
  profile: `fibattn bench profile host`, the GPU time of a compiled training step by kernel and the host time
  of an eager forward + backward.

Here again: `python dev/gpu_session.py unpack paper paper.tgz ...` puts a suite step's archives into its results
folder (the model files, `falsify/` with its CSVs rewritten, `loss_curves.csv` merged).

Before submitting a change to the kernels or the op: here, `python dev/sass_stats.py` with the GPU machine's
Triton version (its front end differs); there (one call, `.device_data/pylib` or the wheel carried):
`DEADLINE=565 python dev/gpu_session.py check op-cells models` (check takes ~70 s, op-cells ~370 s)."""
import gzip, hashlib, json, os, shutil, subprocess, sys, tarfile, time
from pathlib import Path

START, DEADLINE = time.time(), float(os.environ.get("DEADLINE", 560))
OUT = Path(os.environ.get("OUT", "out"))
PACKED = Path(".device_data")  # carried to the GPU machine
CACHE = Path("data_cache")     # git-ignored, not carried: kept between calls while the machine stays warm
VOCAB = 16384
CLI = [sys.executable, "-c", "import sys; from fibonacci_attention.cli import main; sys.exit(main(sys.argv[1:]))"]
STREAMS = ("train.bin", "val.bin")


def log(msg):
    line = f"[{time.time() - START:7.1f}s] {msg}"
    print(line, flush=True)
    with open(OUT / "log.txt", "a") as f: f.write(line + "\n")


def left() -> float: return DEADLINE - (time.time() - START)


def run(cmd, budget):
    "Run `cmd` for at most `budget` seconds (less if the deadline is nearer), its output into the log."
    budget = min(budget, left() - 20)
    shown = " ".join(map(str, cmd[3:] if cmd[:3] == CLI else cmd))
    if budget < 20: log(f"skipped, no time left: {shown}"); return None
    log("$ " + shown)
    with open(OUT / "log.txt", "a") as f:
        try: done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=budget)
        except subprocess.TimeoutExpired: log("timed out"); return None
    log(f"exit {done.returncode}")
    return done.returncode


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""): h.update(block)
    return h.hexdigest()


def prepare():
    "Here: tokenize pg_books and pack the streams, the tokenizer and the fastcore wheel into .device_data/."
    from fibonacci_attention.data import prepare_data
    data = prepare_data("pg_books", vocab_size=VOCAB, cache_dir=CACHE)
    folder = CACHE / data.key
    PACKED.mkdir(exist_ok=True)
    for name in STREAMS:
        with open(folder / name, "rb") as f, gzip.open(PACKED / f"{name}.gz", "wb", compresslevel=6) as g: shutil.copyfileobj(f, g)
    for name in ("tokenizer.json", "meta.json"): shutil.copy(folder / name, PACKED / name)
    (PACKED / "tokens.json").write_text(json.dumps(dict(key=data.key, **{n: sha256(folder / n) for n in STREAMS}), indent=1))
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "fastcore==1.14.5", "-d", str(PACKED)], check=True)
    print(f"{PACKED}: {sum(p.stat().st_size for p in PACKED.iterdir()) / 2**20:.1f} MiB for {data.key}")


def unpack(step: str, archives: list):
    "Here: a suite step's archives from the GPU machine into `nbs/results/<folder>/`: results, falsification, loss curves."
    import csv, io
    from fibonacci_attention.falsify import write_falsification_csv
    folder = Path("nbs/results") / SUITE_FOLDERS[step][1]
    (folder / "falsify").mkdir(parents=True, exist_ok=True)
    curves_path, fields = folder / "loss_curves.csv", ["run", "step", "tokens", "loss", "lr"]
    curves = {}
    if curves_path.exists():
        for row in csv.DictReader(open(curves_path)): curves.setdefault(row["run"], []).append(row)
    for archive in archives:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not member.isfile(): continue
                name, data = Path(member.name), tar.extractfile(member).read()
                if name.parts[0] == "results" and name.suffix == ".json": (folder / name.name).write_bytes(data)
                elif name.parts[0] == "falsify" and name.suffix == ".json": (folder / "falsify" / name.name).write_bytes(data)
                elif name.parts[0] == "metrics":
                    records = [json.loads(line) for line in io.StringIO(data.decode()) if line.strip()]
                    curves[name.stem] = [dict(run=name.stem, **{k: r[k] for k in fields[1:]}) for r in records if "loss" in r]
    if any((folder / "falsify").glob("*.json")): write_falsification_csv(folder / "falsify")
    if folder.name.endswith("_reruns"):  # models of a suite trained again: its rerun noise
        from fibonacci_attention.noise import suite_rerun_noise
        noise = suite_rerun_noise(folder.parent / folder.name.removesuffix("_reruns"), folder)
        (folder / "rerun_noise.json").write_text(json.dumps(noise, indent=1))
        print(f"rerun noise {noise['rerun_noise']:.2%}: {noise['source']}")
    with open(curves_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fields); writer.writeheader()
        for run_name in sorted(curves): writer.writerows(curves[run_name])
    print(f"{folder}: {len(list(folder.glob('*-s*.json')))} models, loss curves of {len(curves)} runs")


def unpack_tokens():
    "There: the token streams in data_cache/<key>/, checked against their sha256 from here."
    want = json.loads((PACKED / "tokens.json").read_text())
    folder = CACHE / want["key"]
    if (folder / "meta.json").exists() and all(sha256(folder / n) == want[n] for n in STREAMS):
        log("tokens present and verified"); return
    shutil.rmtree(folder, ignore_errors=True); folder.mkdir(parents=True)
    for name in STREAMS:
        with gzip.open(PACKED / f"{name}.gz") as f, open(folder / name, "wb") as g: shutil.copyfileobj(f, g, 1 << 24)
    for name in ("tokenizer.json", "meta.json"): shutil.copy(PACKED / name, folder / name)
    if bad := [n for n in STREAMS if sha256(folder / n) != want[n]]: raise SystemExit(f"token streams differ from the packed ones: {bad}")
    log("tokens unpacked and verified")


SUITE_FOLDERS = {"suite": ("gpu80m", "suite80m"), "small": ("gpu80m", "small80m"), "paper": ("paper", "paper"),
                 "paper-reruns": ("paper", "paper_reruns")}  # step: (suite preset, nbs/results/<folder>)


def suite(step: str, reserve: float):
    "A suite (`SUITE_FOLDERS[step]`) for what time is left after `reserve` seconds; KINDS and SEEDS (env) narrow it."
    unpack_tokens()
    preset, folder = SUITE_FOLDERS[step]
    here = Path("runs") / folder
    for sub, pattern in (("results", "*-s*.json"), ("falsify", "falsify/*-s*.json")):
        (here / sub).mkdir(parents=True, exist_ok=True)
        for p in Path(f"nbs/results/{folder}").glob(pattern): shutil.copy(p, here / sub / p.name)
    seconds = int(left() - 70 - reserve)
    if seconds < 60: log(f"{step}: no time left"); return
    narrow = [*(["--kinds", *os.environ["KINDS"].split()] if os.environ.get("KINDS") else []),
              *(["--seeds", *os.environ["SEEDS"].split()] if os.environ.get("SEEDS") else [])]
    run(CLI + ["suite", "--preset", preset, "--out", str(here), "--no-progress", "--seconds", str(seconds), *narrow,
               "--set", f"cache_dir={CACHE}", f"ckpt_every={os.environ.get('CKPT_EVERY', 250)}"], seconds + 45)
    with tarfile.open(OUT / f"{step}.tgz", "w:gz") as tar:
        for sub in ("results", "falsify"): tar.add(here / sub, arcname=sub)
        for m in here.glob("runs/*/metrics.jsonl"): tar.add(m, arcname=f"metrics/{m.parent.name}.jsonl")
    log(f"packed {(OUT / f'{step}.tgz').stat().st_size / 1e6:.2f} MB")


STEPS = {  # name: (what it runs, seconds the suite leaves for it)
    "cells": (lambda: run([sys.executable, "dev/gpu_cells.py"], 420), 420),
    "check": (lambda: run(CLI + ["bench", "check", "--out", str(OUT / "check")], 120), 90),
    "decode": (lambda: run(CLI + ["bench", "decode", "--out", str(OUT / "decode")], 300), 150),
    "op-cells": (lambda: run([sys.executable, "dev/gpu_cells.py", "04_model", "03_attention"], 400), 400),
    "models": (lambda: run(CLI + ["bench", "models", "--kinds", "dense", "fib-fixed", "fib-learned", "--shapes", "512:64",
                                  "--modes", "graphs", "--latency-modes", "--steps", "20", "--out", str(OUT / "models")], 180), 180),
    "long-models": (lambda: run(CLI + ["bench", "models", "--kinds", "dense", "fib-fixed", "fib-learned", "--shapes", "4096:8",
                                       "32768:1", "--modes", "graphs", "--latency-modes", "graphs", "--steps", "20",
                                       "--out", str(OUT / "long_models")], 300), 300),
    "kernels": (lambda: run(CLI + ["bench", "kernels", "--max-n", "131072", "--out", str(OUT / "kernels")], 240), 240),
    "roofline": (lambda: run(CLI + ["bench", "roofline", "--out", str(OUT / "roofline")], 240), 240),
    "latency": (lambda: run(CLI + ["bench", "models", "--kinds", "dense", "fib-fixed", "fib-learned", "--modes", "--latency-modes",
                                   "graphs", "captured", "--latency-batches", "8", "64", "--out", str(OUT / "latency")], 300), 300),
    "profile": (lambda: run(CLI + ["bench", "profile", "host", "--out", str(OUT / "profile")], 240), 240),
}

if __name__ == "__main__":
    steps = sys.argv[1:]
    if steps == ["prepare"]: prepare(); sys.exit()
    if steps[:1] == ["unpack"]: unpack(steps[1], steps[2:]); sys.exit()
    if unknown := [s for s in steps if s not in SUITE_FOLDERS and s not in STEPS]: raise SystemExit(f"unknown steps {unknown}")
    OUT.mkdir(parents=True, exist_ok=True)
    log(f"start; deadline {DEADLINE:.0f} s; steps {steps}")
    for i, name in enumerate(steps):
        if name in SUITE_FOLDERS: suite(name, reserve=sum(STEPS[s][1] for s in steps[i + 1:] if s in STEPS))
        else: STEPS[name][0]()
    log("end")
