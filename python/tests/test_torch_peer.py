"""bench/torch_peer.py, the PyTorch side of --compare-torch: its line protocol and its refusals."""
import json
import os
import subprocess
import sys
import unittest

PEER = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "torch_peer.py")


def exchange(lines):
    """The peer's answer lines to `lines`, run with this interpreter."""
    result = subprocess.run([sys.executable, PEER], input="".join(line + "\n" for line in lines),
                            capture_output=True, text=True, timeout=300, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


class TorchPeerTests(unittest.TestCase):
    def test_without_torch_it_says_how_to_get_it_or_with_torch_it_answers(self):
        answers = exchange(['{"op": "hello", "threads": 1}'])
        self.assertEqual(len(answers), 1)
        try:
            import torch  # noqa: F401
        except ImportError:
            self.assertIn("pip install torch", answers[0]["error"])
            return
        self.assertIn("torch", answers[0])

    def test_bad_requests_get_reasons_and_the_peer_goes_on(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("torch is not importable here; the refusal path before import is tested above")
        answers = exchange([
            '{"op": "hello", "threads": 1}',
            'not json',
            '{"op": "attention", "n": -4, "heads": 1, "head_dim": 8}',
            '{"op": "attention", "n": 100000000, "heads": 64, "head_dim": 128}',
            '{"op": "train", "layers": 1, "d": 10, "heads": 3, "context": 4, "batch": 2, "vocabulary": 5, "steps": 1}',
            '{"op": "fly"}',
            '{"op": "attention", "n": 16, "heads": 1, "head_dim": 8, "causal": true, "pass": "bwd", "warm_up": true}',
        ])
        self.assertEqual(len(answers), 7)
        self.assertIn("JSONDecodeError", answers[1]["error"])
        self.assertIn("n must be a whole number", answers[2]["error"])
        self.assertIn("past the bound", answers[3]["error"])
        self.assertIn("must divide d", answers[4]["error"])
        self.assertIn("unknown op", answers[5]["error"])
        self.assertGreaterEqual(answers[6]["seconds"], 0)

    def test_the_warm_up_warms_the_model_that_is_timed(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("torch is not importable here")
        shape = '"layers": 1, "d": 8, "heads": 1, "context": 4, "batch": 2, "vocabulary": 5'
        answers = exchange([
            '{"op": "hello", "threads": 1}',
            '{"op": "train", ' + shape + ', "steps": 1, "warm_up": true}',
            '{"op": "train", ' + shape + ', "steps": 3}',
            '{"op": "train", ' + shape + ', "steps": 2}',
            '{"op": "train", "layers": 2, "d": 8, "heads": 1, "context": 4, "batch": 2, "vocabulary": 5, "steps": 2}',
        ])
        # Loom's warm-up asks for one step; the timed requests ask for more and must find the
        # same model, already stepped (a key with "steps" in it once made them build a cold one).
        self.assertEqual([a["steps_before"] for a in answers[1:]], [1, 2, 5, 0])
        self.assertTrue(all(a["seconds"] > 0 for a in answers[1:]))


if __name__ == "__main__":
    unittest.main()
