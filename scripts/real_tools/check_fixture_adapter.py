"""gemma3-tiny section of the real-tools check (check.py --fixture DIR): a LoRA adapter trained by the studio's engine on
a fixture model (src/cli/fixtureAdapter.ts; the fixture folder has no tokenizer, so not through
`shadowft train`) loads in PEFT key for key onto the fixture model as transformers loads it, and transformers + PEFT
give the engine's loss on the fixture batch (forward.safetensors input_ids / labels, HF's shift and mean over label
tokens) with the adapter and without it (disable_adapter), to 1e-4.
"""
import json, os, subprocess
import torch


def check(report, fixture, work, root):
    from transformers import AutoModelForCausalLM
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file

    name = os.path.basename(os.path.normpath(fixture))
    out = os.path.join(work, f"{name}-adapter")
    p = subprocess.run(["node", "scripts/real_tools/fixture-adapter.mjs", fixture, out], cwd=root, capture_output=True, text=True)
    if p.returncode != 0:
        report(False, "peft", f"{name}: fixture-adapter.mjs failed: {(p.stderr.strip().splitlines() or [''])[-1][:200]}")
        return
    ours = json.load(open(os.path.join(out, "ours.json")))
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(fixture, torch_dtype=torch.float32), out).eval()
    saved = load_file(os.path.join(out, "adapter_model.safetensors"))
    sd = get_peft_model_state_dict(model)
    report(set(sd) == set(saved) and all(torch.equal(sd[k], saved[k]) for k in saved), "peft", f"{name}: PeftModel.from_pretrained({model.config.model_type}) loads {len(set(sd) & set(saved))}/{len(saved)} adapter keys, values equal")
    fwd = load_file(os.path.join(fixture, "forward.safetensors"))
    ids, labels = fwd["input_ids"].long(), fwd["labels"].long()

    def loss():
        with torch.no_grad():
            logits = model(input_ids=ids).logits.float()[:, :-1]
        return float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100))

    hf = loss()
    with model.disable_adapter():
        hf_base = loss()
    report(abs(hf - ours["loss"]) < 1e-4, "transformers", f"{name}: loss of the model + our adapter ({ours['steps']} steps) on forward.safetensors: transformers+PEFT {hf:.6f}, studio {ours['loss']:.6f}")
    report(abs(hf_base - ours["base_loss"]) < 1e-4, "transformers", f"{name}: loss without the adapter: transformers {hf_base:.6f}, studio {ours['base_loss']:.6f}")
