"""Stage dpo of the real-tools check (scripts/check-real-tools.sh, called from check.py): the studio's Shadow-DPO exports
loaded by the tools users load them with.

- PEFT: the `shadowft train --stage dpo` adapter loads key for key (PeftModel.from_pretrained on the Instruct, as the
  SFT adapter check), and AutoPeftModelForCausalLM from another working directory.
- transformers + PEFT: the held-out preference metrics of Base + LoRA after training (trainer_state.json's last
  eval_loss, eval_rewards/*, eval_logps/*), recomputed here from the Base and the adapter (adapter off = reference,
  sequence log-probs with HF's shift, DPO sigmoid loss as TRL's DPOTrainer) on the studio's rendering of the
  held-out pairs (`shadowft dataset --json`).
- transformers / LLaMA-Factory: trainer_state.json loads as transformers' TrainerState, and LLaMA-Factory's own
  plot_loss draws the keys its DPO workflow plots (loss, rewards/accuracies, eval_loss).
- LLaMA-Factory: get_train_args on the unedited handoff `train_shadow_base.yaml` of `shadowft handoff --stage dpo`
  (stage dpo, pref_beta / pref_loss / pref_ftx), and get_dataset as its DPO workflow calls it (stage "rm"): the
  chosen/rejected input_ids and labels of every training and held-out pair equal the studio's.
"""
import json, os, subprocess
import torch


def studio_pairs(tok, path, work, instruct, root, max_length=512):
    """The studio's rendering and labels of each pair (`shadowft dataset --json`), tokenised here with offsets:
    [(chosen (ids, labels), rejected (ids, labels))], ids and labels as lists."""
    dump = os.path.join(work, os.path.basename(path) + ".studio-pairs.json")
    with open(dump, "w") as f:
        subprocess.run(["npx", "shadowft", "dataset", path, "--template-from", instruct, "--json"], cwd=root, stdout=f, stderr=subprocess.DEVNULL, check=True)

    def one(side):
        text, spans, at = side["text"], [], 0
        for piece in side["labelled"]:
            s = text.index(piece, at)
            spans.append((s, s + len(piece)))
            at = s + len(piece)
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"][:max_length]
        labels = [i if any(a < e and b > s for s, e in spans) else -100 for i, (a, b) in zip(ids, enc["offset_mapping"])]
        return ids, labels

    return [(one(p["chosen"]), one(p["rejected"])) for p in json.load(open(dump))["pairs"]]


def sequence_logp(model, ids, labels):
    """Σ log p(label token) over the labelled positions, HF shift (logits[:, :-1] vs labels[:, 1:]), float64 sum."""
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits.float()[0, :-1]
    tgt = torch.tensor(labels[1:])
    keep = tgt != -100
    lp = torch.log_softmax(logits, dim=-1)[keep].gather(1, tgt[keep].unsqueeze(1)).squeeze(1)
    return float(lp.double().sum())


def check(report, args, work, root, tok):
    from transformers import AutoModelForCausalLM
    from peft import AutoPeftModelForCausalLM, PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file

    run = os.path.join(work, "train-dpo")
    adapter = os.path.join(run, "adapter")
    print("== PEFT on the stage dpo adapter (train-dpo/adapter)")
    pm = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(args.instruct, torch_dtype=torch.float32), adapter)
    saved = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    sd = get_peft_model_state_dict(pm)
    report(set(sd) == set(saved) and all(torch.equal(sd[k], saved[k]) for k in saved), "peft", f"dpo: PeftModel.from_pretrained loads {len(set(sd) & set(saved))}/{len(saved)} adapter keys, values equal")
    cwd = os.getcwd()
    os.chdir("/")
    try:
        AutoPeftModelForCausalLM.from_pretrained(adapter)
        report(True, "peft", "dpo: AutoPeftModelForCausalLM.from_pretrained(adapter) from /")
    except Exception as e:  # noqa: BLE001 — the message is the result
        report(False, "peft", f"dpo: AutoPeftModelForCausalLM.from_pretrained(adapter) from /: {type(e).__name__}: {str(e)[:160]}")
    finally:
        os.chdir(cwd)

    print("== transformers + PEFT: held-out preference metrics of Base + LoRA vs trainer_state.json")
    state = json.load(open(os.path.join(run, "trainer_state.json")))
    last = [e for e in state["log_history"] if "eval_loss" in e][-1]
    pairs = studio_pairs(tok, args.pref_heldout, work, args.instruct, root)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(args.base, torch_dtype=torch.float32), adapter).eval()
    pol, ref = [], []
    for c, r in pairs:
        pol.append((sequence_logp(model, *c), sequence_logp(model, *r)))
        with model.disable_adapter():
            ref.append((sequence_logp(model, *c), sequence_logp(model, *r)))
    beta = args.pref_beta
    rc = [beta * (p[0] - q[0]) for p, q in zip(pol, ref)]
    rr = [beta * (p[1] - q[1]) for p, q in zip(pol, ref)]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    hf = {
        "eval_loss": mean([float(-torch.nn.functional.logsigmoid(torch.tensor(a - b, dtype=torch.float64))) for a, b in zip(rc, rr)]),
        "eval_rewards/chosen": mean(rc), "eval_rewards/rejected": mean(rr), "eval_rewards/accuracies": mean([float(a > b) for a, b in zip(rc, rr)]),
        "eval_rewards/margins": mean([a - b for a, b in zip(rc, rr)]), "eval_logps/chosen": mean([p[0] for p in pol]), "eval_logps/rejected": mean([p[1] for p in pol]),
    }
    # f32 GPU sums of ~100 token log-probs vs torch's CPU ones: log-probs to 2e-2 nats, rewards (β·Δ) and loss to 2e-3.
    tol = {"eval_logps/chosen": 2e-2, "eval_logps/rejected": 2e-2, "eval_rewards/accuracies": 0}
    for k, v in hf.items():
        st = last.get(k)
        report(st is not None and abs(st - v) <= tol.get(k, 2e-3), "transformers", f"dpo: held-out {k} of Base + LoRA ({len(pairs)} pairs): transformers+PEFT {v:.5f}, studio {st}")

    from transformers import TrainerState
    try:
        ts = TrainerState.load_from_json(os.path.join(run, "trainer_state.json"))
        keys = sorted({k for e in ts.log_history for k in e} - {"epoch", "step"})
        report(ts.global_step == state["max_steps"] and "rewards/accuracies" in keys and "eval_rewards/margins" in keys, "transformers", f"dpo: TrainerState.load_from_json(trainer_state.json): global_step {ts.global_step}, log keys {keys}")
    except Exception as e:  # noqa: BLE001
        report(False, "transformers", f"dpo: TrainerState.load_from_json: {type(e).__name__}: {str(e)[:160]}")


def check_llamafactory(report, args, work, root, tok):
    """Called by check.py's check_llamafactory once LLaMA-Factory is importable (stand-ins and env already set)."""
    from llamafactory.hparams import get_train_args
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.model import load_tokenizer
    from llamafactory.extras.ploting import plot_loss
    import sys, contextlib, io

    run = os.path.join(work, "train-dpo")
    keys = ["loss", "rewards/accuracies", "eval_loss"]  # what llamafactory/train/dpo/workflow.py plots
    for k in keys:
        p = os.path.join(run, "training_{}.png".format(k.replace("/", "_")))
        if os.path.exists(p):
            os.remove(p)
    plot_loss(run, keys=keys)
    made = [k for k in keys if os.path.exists(os.path.join(run, "training_{}.png".format(k.replace("/", "_"))))]
    report(made == keys, "llamafactory", f"dpo: plot_loss(train-dpo, keys={keys}) drew {made} from our trainer_state.json")

    studio = {"train_dataset": studio_pairs(tok, args.pref_train, work, args.instruct, root), "eval_dataset": studio_pairs(tok, args.pref_heldout, work, args.instruct, root)}
    h = os.path.join(work, "handoff-dpo")
    argv = sys.argv
    os.chdir(h)
    try:
        sys.argv = ["llamafactory-cli", "train_shadow_base.yaml"]
        margs, dargs, targs, fargs, gargs = get_train_args()
        ok = fargs.stage == "dpo" and fargs.finetuning_type == "lora" and fargs.pref_beta == args.pref_beta and fargs.pref_loss == "sigmoid"
        report(ok, "llamafactory", f"dpo: get_train_args(train_shadow_base.yaml): stage {fargs.stage}, finetuning_type {fargs.finetuning_type}, pref_beta {fargs.pref_beta}, pref_loss {fargs.pref_loss}, pref_ftx {fargs.pref_ftx}, {targs.max_steps} steps, eval_steps {targs.eval_steps}")
        with contextlib.redirect_stdout(io.StringIO()):
            tm = load_tokenizer(margs)
            template = get_template_and_fix_tokenizer(tm["tokenizer"], dargs)
            ds = get_dataset(template, margs, dargs, targs, stage="rm", **tm)  # as llamafactory/train/dpo/workflow.py
        for split, ours in studio.items():
            rows = ds.get(split)
            if rows is None:
                report(False, "llamafactory", f"dpo: get_dataset(stage rm) gave no {split}")
                continue
            bad = {f"{side}_{what}": 0 for side in ("chosen", "rejected") for what in ("input_ids", "labels")}
            for r, (c, j) in zip(rows, ours):
                for side, (ids, labels) in (("chosen", c), ("rejected", j)):
                    bad[f"{side}_input_ids"] += int(r[f"{side}_input_ids"] != ids)
                    bad[f"{side}_labels"] += int(r[f"{side}_labels"] != labels)
            report(len(rows) == len(ours) and not any(bad.values()), "llamafactory", f"dpo: get_dataset(stage rm) {split}: {len(rows)} pairs (studio {len(ours)}); rows differing per feature: {bad}")
    except Exception as e:  # noqa: BLE001
        report(False, "llamafactory", f"dpo: {type(e).__name__}: {str(e)[:200]}")
    finally:
        sys.argv = argv
        os.chdir(root)
