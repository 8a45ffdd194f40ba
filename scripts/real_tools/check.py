"""The real-tools check (scripts/check-real-tools.sh): the studio's exports, loaded by the libraries users load them with.

Prints one line per check: PASS / FAIL / SKIP <tool>: <what>. Exit status 1 when a check fails (skips do not count).
Sections: PEFT on the adapter; transformers held-out loss vs the studio's (run.log); `shadowft graft` on tunes made by
torch (full fine-tunes) and PEFT (LoRA, merge_and_unload), on the Instruct and on an unrelated model; mergekit on the
unedited handoff YAMLs; LLaMA-Factory's get_train_args and get_dataset on the unedited handoff. With --pref-train and
--pref-heldout, the same for stage dpo (check_dpo.py); --only dpo runs those checks alone.
"""
import argparse, contextlib, io, json, os, re, shutil, subprocess, sys, warnings
import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failed = []


def report(ok, tool, what):
    status = "PASS" if ok is True else "SKIP" if ok is None else "FAIL"
    if ok is False:
        failed.append(f"{tool}: {what}")
    print(f"{status} {tool}: {what}", flush=True)


def tensors(folder):
    out = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            out.update(load_file(os.path.join(folder, f)))
    return out


def same_tensors(a, b):
    """Differing elements of two folders' tensors (bitwise), or a message when the key sets differ."""
    ta, tb = tensors(a), tensors(b)
    if ta.keys() != tb.keys():
        return f"keys differ: {sorted(set(ta) ^ set(tb))[:3]}"
    diff = sum(int((ta[k].view(torch.int16) != tb[k].view(torch.int16)).sum()) if ta[k].dtype == torch.bfloat16 else int((ta[k] != tb[k]).sum()) for k in ta)
    return diff


def max_ulps(a, b):
    """Largest distance in BF16 steps between same-named BF16 tensors of two folders (same sign assumed near 0)."""
    ta, tb = tensors(a), tensors(b)
    return max(int((ta[k].view(torch.int16).int() - tb[k].view(torch.int16).int()).abs().max()) for k in ta if ta[k].dtype == torch.bfloat16)


def heldout_examples(tok, path, max_length=512):
    """The studio's rendering and labels (`shadowft dataset --json`), tokenised here with offsets."""
    # Into a file, not a pipe: the CLI ends with process.exit, which can cut a long piped stdout short.
    dump = os.path.join(ARGS.work, os.path.basename(path) + ".studio.json")
    with open(dump, "w") as f:
        subprocess.run(["npx", "shadowft", "dataset", path, "--template-from", ARGS.instruct, "--json"], cwd=ROOT, stdout=f, stderr=subprocess.DEVNULL, check=True)
    js = open(dump).read()
    out = []
    for e in json.loads(js)["examples"]:
        text, spans, at = e["text"], [], 0
        for piece in e["labelled"]:
            s = text.index(piece, at)
            spans.append((s, s + len(piece)))
            at = s + len(piece)
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"][:max_length]
        labels = [i if any(a < e2 and b > s2 for s2, e2 in spans) else -100 for i, (a, b) in zip(ids, enc["offset_mapping"])]
        out.append((torch.tensor([ids]), torch.tensor([labels])))
    return out


def heldout_loss(model, examples):
    """Σ token NLL / Σ label tokens with HF's shift (logits[:, :-1] vs labels[:, 1:]), fp32."""
    nll, n = 0.0, 0
    with torch.no_grad():
        for ids, labels in examples:
            logits = model(ids).logits.float()[:, :-1]
            tgt = labels[:, 1:]
            nll += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum"))
            n += int((tgt != -100).sum())
    return nll / n


def studio_losses(run_log):
    got = {}
    for line in open(run_log):
        m = re.search(r"held-out loss of (\S+) \((before|after) training\): ([0-9.]+)", line)
        if m:
            got[m.group(1)] = float(m.group(3))
    return got


def graft(tuned, out, *extra):
    p = subprocess.run(["npx", "shadowft", "graft", ARGS.base, tuned, ARGS.instruct, out, *extra], cwd=ROOT, capture_output=True, text=True)
    msg = (p.stderr.strip().splitlines() or [""])[-1]
    deriv = next((l for l in p.stderr.splitlines() if l.startswith("derivation:")), "")
    return p.returncode == 0, deriv or msg


def train_examples(tok, n=64):
    return [x for x in heldout_examples(tok, ARGS.train)[:n] if int((x[1] != -100).sum()) > 0]


def full_tune(model, examples, steps, lr):
    """A plain full fine-tune: AdamW on every parameter, batch 1, constant lr (independent of the studio's code)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for s in range(steps):
        ids, labels = examples[s % len(examples)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return model


def main():
    from transformers import AutoModelForCausalLM, AutoTokenizer
    w = ARGS.work
    tok = AutoTokenizer.from_pretrained(ARGS.instruct)
    adapter = os.path.join(w, "train", "adapter")
    if ARGS.pref_train:
        import check_dpo
        check_dpo.check(report, ARGS, w, ROOT, tok)
    if ARGS.only == "dpo":
        print("== LLaMA-Factory on the unedited stage dpo handoff")
        check_llamafactory(w, tok)
        return

    print("== PEFT on the adapter (train/adapter)")
    from peft import AutoPeftModelForCausalLM, PeftModel, get_peft_model_state_dict
    cfg = json.load(open(os.path.join(adapter, "adapter_config.json")))
    inst = AutoModelForCausalLM.from_pretrained(ARGS.instruct, torch_dtype=torch.float32)
    pm = PeftModel.from_pretrained(inst, adapter)
    saved = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sd = get_peft_model_state_dict(pm)
    report(set(sd) == set(saved), "peft", f"PeftModel.from_pretrained loads {len(set(sd) & set(saved))}/{len(saved)} adapter keys")
    report(not [c for c in caught if "config" in str(c.message).lower()], "peft", f"get_peft_model_state_dict without a config warning ({len(caught)} warnings)")
    cwd = os.getcwd()
    os.chdir("/")
    try:
        m = AutoPeftModelForCausalLM.from_pretrained(adapter)
        report(True, "peft", f"AutoPeftModelForCausalLM.from_pretrained(adapter) from / (base_model_name_or_path {cfg['base_model_name_or_path']})")
    except Exception as e:  # noqa: BLE001 — the message is the result
        report(False, "peft", f"AutoPeftModelForCausalLM.from_pretrained(adapter) from /: {type(e).__name__}: {str(e)[:160]}")
    finally:
        os.chdir(cwd)
    card = open(os.path.join(adapter, "README.md")).read() if os.path.exists(os.path.join(adapter, "README.md")) else ""
    report("library_name: peft" in card and f"base_model: {cfg['base_model_name_or_path']}" in card, "peft", "README.md model card names base_model and library_name: peft")
    merged_peft = os.path.join(w, "peft-merged")
    pm.merge_and_unload().to(torch.bfloat16).save_pretrained(merged_peft)
    d = same_tensors(merged_peft, os.path.join(w, "merged"))
    u = max_ulps(merged_peft, os.path.join(w, "merged")) if isinstance(d, int) else None
    # PEFT forms W + s·(B @ A) with a float32 matmul, we in float64 rounded once: an element whose f32 value lies next
    # to a BF16 rounding midpoint may land one BF16 step apart. More, or larger, differences are a failure.
    report(isinstance(d, int) and u is not None and u <= 1 and d <= 4, "peft", f"our merge vs bf16(PEFT merge_and_unload): {d} differing elements, at most {u} BF16 step(s) apart")

    print("== transformers: held-out loss vs the studio (run.log)")
    ours = studio_losses(os.path.join(w, "train", "run.log"))
    ex = heldout_examples(tok, ARGS.heldout)
    for name, folder in [("instruct", ARGS.instruct), ("instruct+graft", os.path.join(w, "merged")), ("base", ARGS.base)]:
        mdl = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
        hf = heldout_loss(mdl, ex)
        st = ours.get(name)
        report(st is not None and abs(hf - st) < 5e-4, "transformers", f"held-out loss of {name}: transformers {hf:.4f}, studio {st}")

    for fx in ARGS.fixture:
        print(f"== PEFT + transformers on an adapter the engine trained on {os.path.basename(fx)} (check_fixture_adapter.py)")
        import check_fixture_adapter
        check_fixture_adapter.check(report, fx, w, ROOT)

    print("== shadowft graft on tunes made by other tools")
    tex = train_examples(tok)
    for steps in (10, 40, 160):
        out = os.path.join(w, f"torch-full-{steps}")
        full_tune(AutoModelForCausalLM.from_pretrained(ARGS.base, torch_dtype=torch.float32), tex, steps, 1e-3).save_pretrained(out)
        tok.save_pretrained(out)
        ok, msg = graft(out, out + "-grafted")
        report(ok, "torch", f"full fine-tune of the Base ({steps} AdamW steps, lr 1e-3, saved F32) accepted: {msg}")
    from peft import LoraConfig, get_peft_model
    for steps in (20, 100):
        m = get_peft_model(AutoModelForCausalLM.from_pretrained(ARGS.base, torch_dtype=torch.float32), LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
        out = os.path.join(w, f"peft-lora-{steps}")
        full_tune(m, tex, steps, 1e-3).merge_and_unload().to(torch.bfloat16).save_pretrained(out)
        ok, msg = graft(out, out + "-grafted")
        report(ok, "peft", f"LoRA tune of the Base ({steps} steps) merged with merge_and_unload, bf16, accepted: {msg}")
    ok, msg = graft(ARGS.instruct, os.path.join(w, "instruct-as-tuned"))
    report(not ok, "graft", f"the Instruct as TUNED refused: {msg[:200]}")
    rnd = os.path.join(w, "unrelated")
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(AutoModelForCausalLM.from_pretrained(ARGS.base).config).to(torch.bfloat16).save_pretrained(rnd)
    ok, msg = graft(rnd, os.path.join(w, "unrelated-grafted"))
    report(not ok, "graft", f"an unrelated model (random init, same config) refused: {msg[:200]}")

    print("== mergekit on the unedited graft_mergekit.yaml, with the command the handoff README prints")
    check_mergekit(w, adapter)
    print("== LLaMA-Factory on the unedited handoff (get_train_args as llamafactory-cli train reads the YAML)")
    check_llamafactory(w, tok)


def pydantic_too_new():
    try:
        import pydantic
        from packaging.version import Version
        return Version(pydantic.VERSION) >= Version("2.11")
    except ImportError:
        return False


def readme_command(handoff, tool):
    """The `tool …` line of the handoff README's shell blocks, as argv (comment dropped)."""
    import shlex
    for line in open(os.path.join(handoff, "README.md")):
        if line.startswith(tool + " "):
            return shlex.split(line.split("   #")[0])
    return None


def check_mergekit(w, adapter):
    exe = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")
    if not os.path.exists(exe):
        report(None, "mergekit", "not installed (set MERGEKIT_SRC to a mergekit checkout; pip install mergekit failed here): mergekit-yaml checks skipped")
        return
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    stand_ins = []
    try:
        import immutables  # noqa: F401
    except ImportError:
        stand_ins.append("immutables (frozendict)")
    if pydantic_too_new():
        stand_ins.append("pydantic>=2.11 create_model as 2.10")
    if stand_ins:
        env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "scripts", "real_tools", "mergekit_compat")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        print(f"  stand-ins (scripts/real_tools/mergekit_compat): {', '.join(stand_ins)}")
    from transformers import AutoConfig
    for t, tuned in (("lora", adapter), ("full", os.path.join(w, "torch-full-40"))):
        h = os.path.join(w, f"handoff-{t}")
        shutil.copytree(tuned, os.path.join(h, "saves", f"shadow_base_{t}"))
        cmd = readme_command(h, "mergekit-yaml")
        if cmd is None:
            report(False, "mergekit", f"{t}: the handoff README prints no mergekit-yaml line")
            continue
        out = os.path.join(h, cmd[2])
        p = subprocess.run([exe, *cmd[1:]], cwd=h, capture_output=True, text=True, env=env)
        print(f"  {t}: {' '.join(cmd)} -> exit {p.returncode}")
        ours_dir = os.path.join(w, "grafted-lora" if t == "lora" else "torch-full-40-grafted")
        if p.returncode != 0:
            report(False, "mergekit", f"{t}: mergekit-yaml failed: {(p.stderr.strip().splitlines() or [''])[-1][:200]}")
            continue
        d = same_tensors(out, ours_dir)
        u = max_ulps(out, ours_dir) if isinstance(d, int) else None
        n = sum(v.numel() for v in tensors(ours_dir).values())
        # mergekit forms W_I + (W_B' − W_I) − (W_B − W_I) in float32 steps (and PEFT merges a LoRA with a float32
        # matmul); we compute in float64 and round once: an element next to a BF16 rounding midpoint may land one
        # BF16 step apart. More than one step, or on more than 0.1% of the elements, is a failure.
        report(isinstance(d, int) and u is not None and u <= 1 and d <= n // 1000, "mergekit", f"{t}: mergekit-yaml vs shadowft graft: {d} of {n} elements differ, at most {u} BF16 step(s) apart")
        same = [f for f in ("tokenizer_config.json", "tokenizer.json", "special_tokens_map.json", "generation_config.json", "tokenizer.model")
                if os.path.exists(os.path.join(ARGS.instruct, f)) and (not os.path.exists(os.path.join(out, f)) or open(os.path.join(out, f), "rb").read() != open(os.path.join(ARGS.instruct, f), "rb").read())]
        strip = lambda c: {k: v for k, v in c.to_dict().items() if k not in ("transformers_version", "_name_or_path")}  # noqa: E731
        cfg_same = strip(AutoConfig.from_pretrained(out)) == strip(AutoConfig.from_pretrained(ARGS.instruct))
        tpl = "chat_template" in json.load(open(os.path.join(out, "tokenizer_config.json"))) or os.path.exists(os.path.join(out, "chat_template.jinja"))
        report(not same and cfg_same and tpl, "mergekit", f"{t}: output carries the Instruct's config (as loaded: {'same' if cfg_same else 'DIFFERENT'}), tokenizer/generation files (differing or missing: {same}), chat template ({tpl})")


def check_llamafactory(w, tok):
    compat = os.path.join(ROOT, "scripts", "real_tools", "llamafactory_compat")
    stand_ins = []
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        stand_ins.append("torchaudio (audio inputs only)")
    try:
        from trl import AutoModelForCausalLMWithValueHead  # noqa: F401
    except ImportError:
        stand_ins.append("trl (value-head models, rm/ppo only)")
    try:
        import llamafactory  # noqa: F401
    except ImportError as e:
        report(None, "llamafactory", f"not installed ({e}; set LLAMAFACTORY_SRC to a LLaMA-Factory checkout): get_train_args / get_dataset checks skipped")
        return
    if stand_ins:
        # Both are imported at module level; placeholders raise if used. Only for modules not importable here.
        sys.path.insert(0, compat)
        for m in ("torchaudio", "trl"):
            if not any(s.startswith(m + " ") for s in stand_ins):
                continue
            sys.modules.pop(m, None)
        print(f"  placeholders (scripts/real_tools/llamafactory_compat): {', '.join(stand_ins)}")
    os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
    os.environ["HF_HUB_OFFLINE"] = "1"
    import importlib.metadata as md
    print("  versions: " + ", ".join(f"{p} {md.version(p)}" for p in ("transformers", "datasets", "peft", "accelerate", "torch")) + " (LLaMA-Factory pins transformers<=5.8, datasets<=4.0, peft<=0.18.1, accelerate<=1.11: DISABLE_VERSION_CHECK=1)")
    import transformers.training_args as ta
    if not torch.cuda.is_available():
        # The recipe sets bf16: true (a GPU run); transformers refuses that on a CPU without use_cpu. Stand in a
        # bf16 GPU for the argument check only: the check does not train.
        ta.is_torch_bf16_gpu_available = lambda: True
        print("  no GPU here: transformers' bf16-GPU check answers yes (the recipe's bf16: true is validated, not run)")
    try:
        from llamafactory.hparams import get_train_args
        from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
        from llamafactory.model import load_tokenizer
    except ImportError as e:
        report(None, "llamafactory", f"cannot be imported here ({type(e).__name__}: {e}): get_train_args / get_dataset checks skipped")
        return
    if ARGS.pref_train:
        import check_dpo
        check_dpo.check_llamafactory(report, ARGS, w, ROOT, tok)
    if ARGS.only == "dpo":
        return
    studio = {"train_dataset": heldout_examples(tok, ARGS.train), "eval_dataset": heldout_examples(tok, ARGS.heldout)}
    argv = sys.argv
    for t in ("lora", "full"):
        h = os.path.join(w, f"handoff-{t}")
        os.chdir(h)
        try:
            # As `llamafactory-cli train train_shadow_base.yaml` reads it: read_args() loads sys.argv[1] with OmegaConf.
            sys.argv = ["llamafactory-cli", "train_shadow_base.yaml"]
            margs, dargs, targs, fargs, gargs = get_train_args()
            report(fargs.finetuning_type == t and targs.bf16, "llamafactory", f"{t}: get_train_args(train_shadow_base.yaml): finetuning_type {fargs.finetuning_type}, {targs.max_steps} steps, lr {targs.learning_rate}, template {dargs.template}")
            with contextlib.redirect_stdout(io.StringIO()):
                tm = load_tokenizer(margs)
                template = get_template_and_fix_tokenizer(tm["tokenizer"], dargs)
                ds = get_dataset(template, margs, dargs, targs, stage="sft", **tm)
            for split, ours in studio.items():
                rows = ds.get(split)
                if rows is None:
                    report(False, "llamafactory", f"{t}: get_dataset gave no {split}")
                    continue
                bad_ids = sum(1 for r, (ids, _) in zip(rows, ours) if r["input_ids"] != ids[0].tolist())
                bad_lab = sum(1 for r, (_, lab) in zip(rows, ours) if r["labels"] != lab[0].tolist())
                report(len(rows) == len(ours) and bad_ids == 0 and bad_lab == 0, "llamafactory", f"{t}: get_dataset {split}: {len(rows)} rows (studio {len(ours)}); input_ids differ on {bad_ids}, labels on {bad_lab}")
        except Exception as e:  # noqa: BLE001
            report(False, "llamafactory", f"{t}: {type(e).__name__}: {str(e)[:200]}")
        finally:
            sys.argv = argv
            os.chdir(ROOT)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    for k in ("work", "base", "instruct", "heldout", "train"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--pref-train", help="preference data of the stage dpo exports (train-dpo/, handoff-dpo/)")
    ap.add_argument("--pref-heldout")
    ap.add_argument("--pref-beta", type=float, default=0.1)
    ap.add_argument("--only", choices=["all", "dpo"], default="all")
    ap.add_argument("--fixture", action="append", default=[], help="a fixture model folder (e.g. ../shared/fixtures/gemma3-tiny) for check_fixture_adapter.py")
    ARGS = ap.parse_args()
    if ARGS.pref_train:
        ARGS.pref_train, ARGS.pref_heldout = os.path.abspath(ARGS.pref_train), os.path.abspath(ARGS.pref_heldout)
    ARGS.fixture = [os.path.abspath(f) for f in ARGS.fixture]
    ARGS.train, ARGS.heldout, ARGS.work = os.path.abspath(ARGS.train), os.path.abspath(ARGS.heldout), os.path.abspath(ARGS.work)
    main()
    print(f"== {len(failed)} check(s) failed" + ("".join(f"\n  {f}" for f in failed) if failed else ""))
    sys.exit(1 if failed else 0)
