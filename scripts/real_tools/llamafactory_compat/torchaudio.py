"""Placeholder for torchaudio, which LLaMA-Factory imports at the top of data/mm_plugin.py and uses only to load audio
inputs. scripts/real_tools/check.py puts this folder on sys.path only when `import torchaudio` fails (no torchaudio
build for this torch in the machine's package index). Our handoff has no audio: any use of it is an error.
"""


def __getattr__(name):
    raise ImportError(f"torchaudio.{name}: torchaudio is not installed (placeholder from scripts/real_tools/llamafactory_compat)")
