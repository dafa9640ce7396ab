"""What the tests of bench/*.py share: loading a script as a module, and the JSON of a real run
recorded in tests/data/speed."""
import importlib.util
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_script(name):
    """bench/<name>.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "..", "..", "bench", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recorded(name):
    with open(os.path.join(HERE, "data", "speed", name + ".json"), encoding="utf-8") as f:
        return json.load(f)
