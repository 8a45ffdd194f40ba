"""Compatibility for running mergekit (pinned to pydantic~=2.10.6) with the pydantic this machine's index has (2.13).

Only on the PYTHONPATH of the `mergekit-yaml` subprocess of scripts/real_tools/check.py. Since pydantic 2.11,
`create_model(name, f=value)` reads a non-tuple `value` as f's type annotation; 2.10 put it in the class namespace.
mergekit's easy_define (@merge_method: multislerp, …; not task_arithmetic) passes methods (arguments, execute, …) that
way, so importing mergekit.merge_methods fails on 2.13. This moves plain functions into an intermediate base class,
which is what 2.10 did with them. Nothing else changes.
"""
import inspect

try:
    import pydantic
    from packaging.version import Version

    if Version(pydantic.VERSION) >= Version("2.11"):
        _create_model = pydantic.create_model

        def create_model(model_name, /, *, __base__=None, **fields):
            methods = {k: v for k, v in fields.items() if inspect.isfunction(v)}
            if methods:
                base = __base__ if __base__ is not None else pydantic.BaseModel
                base = base[0] if isinstance(base, tuple) else base
                __base__ = type(base)(f"{model_name}Methods", (base,), {"__module__": base.__module__, **methods})
                fields = {k: v for k, v in fields.items() if k not in methods}
            return _create_model(model_name, __base__=__base__, **fields)

        pydantic.create_model = create_model
        pydantic.main.create_model = create_model
except ImportError:
    pass
