"""Placeholder for trl, which LLaMA-Factory's model/loader.py imports at the top for AutoModelForCausalLMWithValueHead
(reward-model / PPO stages only). The machine's package index has only trl releases past LLaMA-Factory's pin
(<=0.24), which no longer have that class. scripts/real_tools/check.py puts this folder on sys.path only when
`from trl import AutoModelForCausalLMWithValueHead` fails; the check runs stage sft, which never uses it.
"""


class AutoModelForCausalLMWithValueHead:
    def __init__(self, *a, **k):
        raise ImportError("trl is not installed (placeholder from scripts/real_tools/llamafactory_compat)")

    from_pretrained = classmethod(__init__)
