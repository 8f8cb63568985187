"""``tunelab port``: Ray Tune imports rewritten to tunelab's, by ``port_source`` and the CLI."""

from __future__ import annotations

import ast
import glob
import os
import stat
import textwrap
import zipfile
from pathlib import Path

import pytest

from tunelab._frontdoor.cli import main
from tunelab._port import Change, map_module, port_source


def ported(source: str, siblings: tuple[str, ...] = ()) -> str:
    return port_source(textwrap.dedent(source), siblings=siblings).source


def ray_imports(source: str) -> list[str]:
    """The Ray modules ``source`` still imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "ray"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] if node.module.split(".")[0] == "ray" else []
    return found


# -- the rule -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ray", "tunelab"),
    [
        ("ray", "tunelab"),
        ("ray.tune", "tunelab"),
        ("ray.tune.schedulers", "tunelab.schedulers"),
        ("ray.tune.schedulers.pb2", "tunelab.schedulers.pb2"),
        ("ray.tune.integration.xgboost", "tunelab.integration.xgboost"),
        ("ray.air.session", "tunelab.air.session"),
        ("ray.train", "tunelab.train"),
        ("tune_sklearn", "tunelab.sklearn"),
        ("tune_sklearn.tune_search", "tunelab.sklearn.tune_search"),
        ("rayleigh", None),
        ("raymond.tune", None),
        ("tunelab", None),
    ],
)
def test_map_module(ray: str, tunelab: str | None) -> None:
    assert map_module(ray) == tunelab


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("import ray\n", "import tunelab as ray\n"),
        ("import ray as r\n", "import tunelab as r\n"),
        ("import ray.tune\n", "import tunelab as ray\n"),
        ("import ray.tune as t\n", "import tunelab as t\n"),
        ("import ray.tune.schedulers as s\n", "import tunelab.schedulers as s\n"),
        ("import ray.tune.schedulers\n", "import tunelab as ray\n"),
        ("import ray.air.session\n", "import tunelab as ray\n"),
        ("import ray.air.session as session\n", "import tunelab.air.session as session\n"),
        ("import os, ray, sys\n", "import os, tunelab as ray, sys\n"),
        ("import ray, ray.tune\n", "import tunelab as ray, tunelab as ray\n"),
        ("from ray import tune\n", "from tunelab import tune\n"),
        ("from ray import air, tune\n", "from tunelab import air, tune\n"),
        ("from ray import tune as rt, train\n", "from tunelab import tune as rt, train\n"),
        ("from ray.tune import run, Trainable\n", "from tunelab import run, Trainable\n"),
        ("from ray.tune import *\n", "from tunelab import *\n"),
        ("from ray.air import session\n", "from tunelab.air import session\n"),
        (
            "from ray.tune.schedulers import PopulationBasedTraining as PBT\n",
            "from tunelab.schedulers import PopulationBasedTraining as PBT\n",
        ),
        (
            "from ray.tune.integration.xgboost import TuneReportCallback\n",
            "from tunelab.integration.xgboost import TuneReportCallback\n",
        ),
        (
            "import ray;import ray.tune as t  # x\n",
            "import tunelab as ray;import tunelab as t  # x\n",
        ),
        ("from  ray . tune  import  run\n", "from  tunelab  import  run\n"),
        ("from tune_sklearn import TuneSearchCV\n", "from tunelab.sklearn import TuneSearchCV\n"),
        ("import tune_sklearn\n", "import tunelab.sklearn as tune_sklearn\n"),
        ("import tune_sklearn as ts\n", "import tunelab.sklearn as ts\n"),
    ],
)
def test_import_forms(before: str, after: str) -> None:
    result = port_source(before)
    assert result.source == after
    assert result.changes == (Change(1, before.rstrip("\n"), after.rstrip("\n")),)


def test_multi_line_parenthesised_import_keeps_formatting_and_comments() -> None:
    before = """\
    from ray.tune.schedulers import (  # the schedulers
        ASHAScheduler,  # early stopping
        PopulationBasedTraining as PBT,
    )
    """
    result = port_source(textwrap.dedent(before))
    assert result.source == textwrap.dedent(before).replace(
        "from ray.tune.schedulers", "from tunelab.schedulers"
    )
    assert result.changes == (
        Change(
            1,
            "from ray.tune.schedulers import (  # the schedulers",
            "from tunelab.schedulers import (  # the schedulers",
        ),
    )


def test_backslash_continuations_keep_the_line_structure() -> None:
    before = "from ray.tune.schedulers import ASHAScheduler, \\\n    HyperBandScheduler\n"
    after = "from tunelab.schedulers import ASHAScheduler, \\\n    HyperBandScheduler\n"
    assert ported(before) == after
    # a dotted name split over lines: each line keeps its place, the result still compiles
    split = "from ray.tune \\\n    .schedulers import FIFOScheduler\nimport ray \\\n    .tune\n"
    result = port_source(split)
    assert len(result.source.splitlines()) == len(split.splitlines())
    compile(result.source, "split", "exec")
    assert ray_imports(result.source) == []
    assert [c.line for c in result.changes] == [1, 2, 3, 4]


def test_nested_and_conditional_imports_are_rewritten() -> None:
    before = """\
    try:
        from ray import tune
    except ImportError:
        tune = None

    def train(config):
        import ray.tune as t
        from ray.air import session
        if config:
            from ray.tune.schedulers import ASHAScheduler

    class A:
        def f(self):
            import ray

    if __name__ == "__main__":
        import ray
        ray.init()
    """
    result = port_source(textwrap.dedent(before))
    assert ray_imports(result.source) == []
    assert [c.line for c in result.changes] == [2, 7, 8, 10, 14, 17]
    assert "    import tunelab as t\n" in result.source
    assert "        import tunelab as ray\n" in result.source


def test_everything_but_the_import_tokens_is_kept() -> None:
    before = """\
    # ray.tune is mentioned in a comment
    import ray  # keep me
    x = "from ray import tune"
    ray_tune = ray.tune  # an attribute chain, not an import
    \"\"\"import ray.tune\"\"\"
    """
    after = ported(before)
    assert after.splitlines() == [
        "# ray.tune is mentioned in a comment",
        "import tunelab as ray  # keep me",
        'x = "from ray import tune"',
        "ray_tune = ray.tune  # an attribute chain, not an import",
        '"""import ray.tune"""',
    ]


def test_line_endings_encoding_marks_and_tabs_are_kept() -> None:
    before = "# -*- coding: utf-8 -*-\r\nimport ray\r\nif True:\r\n\tfrom ray import tune\r\n"
    after = port_source(before).source
    assert after == (
        "# -*- coding: utf-8 -*-\r\nimport tunelab as ray\r\n"
        "if True:\r\n\tfrom tunelab import tune\r\n"
    )
    unicode_before = 'x = "é"; import ray.tune as t\n'
    assert port_source(unicode_before).source == 'x = "é"; import tunelab as t\n'


@pytest.mark.parametrize(
    "source",
    [
        "import rayleigh\n",
        "import rayleigh as ray\n",
        "from raymond import x\n",
        "from raymond.tune import x\n",
        "from .ray import x\n",
        "from . import ray\n",
        "from .ray.tune import x\n",
        "import tunelab as ray\n",
        "import os.path as ray\n",
    ],
)
def test_unrelated_imports_are_untouched(source: str) -> None:
    result = port_source(source)
    assert result.source == source
    assert result.changes == ()


def test_porting_a_ported_source_changes_nothing() -> None:
    before = """\
    import ray
    import ray.tune as t
    import ray.tune.schedulers
    from ray import tune, air
    from ray.tune.schedulers import (
        ASHAScheduler,  # note
    )
    from ray.tune.examples.mnist_pytorch import train
    from ray.tune.examples import utils
    """
    once = port_source(textwrap.dedent(before), siblings=("mnist_pytorch", "utils"))
    twice = port_source(once.source, siblings=("mnist_pytorch", "utils"))
    assert once.changed and not twice.changed
    assert twice.source == once.source


def test_syntax_errors_are_raised_with_the_line() -> None:
    with pytest.raises(SyntaxError) as info:
        port_source("import ray\ndef (:\n")
    assert info.value.lineno == 2


# -- example helpers --------------------------------------------------------------------------
def test_example_helpers_next_to_the_script_become_sibling_imports() -> None:
    before = """\
    from ray.tune.examples.mnist_pytorch import train, test
    from ray.tune.examples.mnist_pytorch import (
        get_data_loaders,  # helpers
        ConvNet,
    )
    from ray.tune.examples.pbt_convnet_example import \\
        PytorchTrainable
    from ray.tune.examples import utils
    from ray.tune.examples import utils as u, mnist_pytorch
    from ray.tune.examples import (utils)
    import ray.tune.examples.mnist_pytorch as mp
    from ray.tune.examples.pbt_transformers import trainer
    from ray.tune.examples.pbt_dcgan_mnist.common import Net
    from ray.tune.examples.pbt_dcgan_mnist import common
    from ray.tune.examples.pbt_function import pbt_function
    """
    siblings = ("mnist_pytorch", "utils", "pbt_convnet_example", "trainer", "common")
    siblings += ("pbt_function",)
    result = port_source(textwrap.dedent(before), siblings=siblings)
    assert result.source.splitlines() == [
        "from mnist_pytorch import train, test",
        "from mnist_pytorch import (",
        "    get_data_loaders,  # helpers",
        "    ConvNet,",
        ")",
        "from pbt_convnet_example import \\",
        "    PytorchTrainable",
        "import utils",
        "import utils as u, mnist_pytorch",
        "import utils",
        "import mnist_pytorch as mp",
        "import trainer",
        "from common import Net",
        "import common",
        "from pbt_function import pbt_function",  # a name in the module, not the module
    ]
    assert result.findings == ()


def test_a_package_of_helpers_next_to_the_script_is_imported_from_it() -> None:
    before = """\
    from ray.tune.examples.pbt_dcgan_mnist.common import Net
    from ray.tune.examples.pbt_dcgan_mnist import common
    """
    siblings = ("pbt_dcgan_mnist", "pbt_dcgan_mnist.common")
    assert ported(before, siblings).splitlines() == [
        "from pbt_dcgan_mnist.common import Net",
        "from pbt_dcgan_mnist import common",
    ]


def test_a_script_named_like_its_directory_imports_its_neighbours() -> None:
    # Ray 0.8's pbt_transformers/pbt_transformers.py (the script is not its own sibling)
    before = """\
    from ray.tune.examples.pbt_transformers.utils import \\
        build_compute_metrics_fn
    from ray.tune.examples.pbt_transformers import trainer
    from ray.tune.examples.pbt_transformers import (
        trainer)
    """
    siblings = ("utils", "trainer")
    result = port_source(textwrap.dedent(before), siblings=siblings)
    assert result.source.splitlines() == [
        "from utils import \\",
        "    build_compute_metrics_fn",
        "import trainer",
        "from tunelab.examples.pbt_transformers import (",  # no one-statement sibling form
        "    trainer)",
    ]


def test_example_helpers_that_are_not_siblings_map_as_module_paths() -> None:
    before = """\
    from ray.tune.examples.mnist_pytorch import train
    from ray.tune.examples import utils, other
    from ray.tune.examples import (
        utils)
    import ray.tune.examples.mnist_pytorch
    """
    result = port_source(textwrap.dedent(before), siblings=("utils",))
    assert result.source.splitlines() == [
        "from tunelab.examples.mnist_pytorch import train",
        "from tunelab.examples import utils, other",
        "from tunelab.examples import (",
        "    utils)",
        "import tunelab as ray",
    ]
    names = [(f.line, f.name, f.kind) for f in result.findings]
    assert names == [
        (1, "ray.tune.examples.mnist_pytorch", "module"),
        (2, "ray.tune.examples", "module"),
        (3, "ray.tune.examples", "module"),
        (5, "ray.tune.examples.mnist_pytorch", "module"),
    ]


# -- what has no counterpart ------------------------------------------------------------------
def test_modules_without_counterpart_are_reported_with_their_line() -> None:
    before = """\
    import ray
    from ray.rllib.agents import ppo
    import ray.serve as serve

    def f():
        from ray.util.sgd import TorchTrainer
        import ray.data
    """
    result = port_source(textwrap.dedent(before))
    found = [(f.line, f.name, f.target, f.kind) for f in result.findings]
    assert found == [
        (2, "ray.rllib.agents", "tunelab.rllib.agents", "module"),
        (3, "ray.serve", "tunelab.serve", "module"),
        (6, "ray.util.sgd", "tunelab.util.sgd", "module"),
        (7, "ray.data", "tunelab.data", "module"),
    ]
    assert result.findings[0].message == "ray.rllib.agents (no module tunelab.rllib.agents)"


def test_ray_core_attributes_without_counterpart_are_reported() -> None:
    before = """\
    import ray
    import ray as r
    from ray import remote, get_actor as ga
    from ray.tune.schedulers import ASHAScheduler, NoSuchScheduler

    @ray.remote
    class Actor:
        pass

    def main():
        handle = ray.actor.ActorHandle
        ray.wait([])
        r.get_actor("x")
        ray.remote = None
        ray.tune.schedulers.ASHAScheduler.not_checked
        ASHAScheduler.whatever
    """
    result = port_source(textwrap.dedent(before))
    found = [(f.line, f.name, f.kind) for f in result.findings]
    assert found == [
        (3, "ray.get_actor", "attribute"),
        (3, "ray.remote", "attribute"),
        (4, "ray.tune.schedulers.NoSuchScheduler", "attribute"),
        (6, "ray.remote", "attribute"),
        (11, "ray.actor", "attribute"),
        (12, "ray.wait", "attribute"),
        (13, "r.get_actor", "attribute"),
    ] or found == [  # while tunelab has no `tune` attribute, ray.tune is the missing name
        (3, "ray.get_actor", "attribute"),
        (3, "ray.remote", "attribute"),
        (4, "ray.tune.schedulers.NoSuchScheduler", "attribute"),
        (6, "ray.remote", "attribute"),
        (11, "ray.actor", "attribute"),
        (12, "ray.wait", "attribute"),
        (13, "r.get_actor", "attribute"),
        (15, "ray.tune", "attribute"),
    ]
    assert result.findings[1].message == "ray.remote (tunelab has no attribute 'remote')"
    assert result.findings[1].target == "tunelab.remote"


def test_names_bound_by_from_imports_are_checked_below_the_module() -> None:
    before = """\
    from ray.tune import schedulers
    from ray.tune import stopper as st
    schedulers.ASHAScheduler
    schedulers.NoSuchThing
    st.Stopper
    st.nope.deeper
    """
    result = port_source(textwrap.dedent(before))
    assert [(f.line, f.name, f.target) for f in result.findings] == [
        (4, "schedulers.NoSuchThing", "tunelab.schedulers.NoSuchThing"),
        (6, "st.nope", "tunelab.stopper.nope"),
    ]


def test_a_ported_source_reports_the_same_missing_attributes() -> None:
    before = "import ray\n\n@ray.remote\ndef f():\n    ray.get_actor('a')\n"
    once = port_source(before)
    twice = port_source(once.source)
    assert [(f.line, f.name) for f in twice.findings] == [(3, "ray.remote"), (5, "ray.get_actor")]
    assert [(f.line, f.name) for f in once.findings] == [(3, "ray.remote"), (5, "ray.get_actor")]


# -- Ray's own examples -----------------------------------------------------------------------
def _wheel(version: str) -> str | None:
    found = sorted(glob.glob(f"/tmp/raywheels/ray-{version}-*.whl"))
    return found[0] if found else None


EXAMPLES = [
    ("2.60.0", "pbt_function.py"),
    ("2.60.0", "hyperopt_conditional_search_space_example.py"),  # 1.x, 2.x: no hyperopt_example
    ("1.13.0", "hyperopt_conditional_search_space_example.py"),
    ("0.8.7", "hyperopt_example.py"),
]


@pytest.mark.parametrize(
    ("version", "example"),
    [
        pytest.param(
            version,
            example,
            marks=pytest.mark.skipif(
                _wheel(version) is None,
                reason=f"no Ray {version} wheel in /tmp/raywheels to read the example from",
            ),
        )
        for version, example in EXAMPLES
    ],
)
def test_ray_examples_port_to_sources_without_ray_imports(version: str, example: str) -> None:
    with zipfile.ZipFile(str(_wheel(version))) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(f"ray/tune/examples/{example}")]
        source = wheel.read(name).decode("utf-8")
    result = port_source(source, siblings=("mnist_pytorch", "pbt_function"))
    compile(result.source, example, "exec")
    assert ray_imports(source) and ray_imports(result.source) == []
    assert len(result.source.splitlines()) == len(source.splitlines())
    assert all(c.old.lstrip().startswith(("import", "from")) for c in result.changes)
    assert not port_source(result.source).changed


# -- the command line -------------------------------------------------------------------------
SCRIPT = """\
import ray
from ray.tune.examples.helper import f  # a sibling
from ray.tune.schedulers import (
    ASHAScheduler,
)

ray.get_actor("x")
"""


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "helper.py").write_text("def f():\n    pass\n")
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return path


def test_cli_prints_changes_and_findings_without_writing(
    script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["port", "train.py"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [
        "train.py:1: import ray -> import tunelab as ray",
        "train.py:2: from ray.tune.examples.helper import f  # a sibling"
        " -> from helper import f  # a sibling",
        "train.py:3: from ray.tune.schedulers import ( -> from tunelab.schedulers import (",
        "train.py:7: no counterpart: ray.get_actor (tunelab has no attribute 'get_actor')",
        "1 file(s): 3 line(s) changed, 1 without counterpart; "
        "nothing written (--write to apply, --diff to see)",
    ]
    assert script.read_text() == SCRIPT


def test_cli_diff_prints_a_unified_diff(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port", "--diff", "train.py"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[:4] == [
        "--- a/train.py",
        "+++ b/train.py",
        "@@ -1,6 +1,6 @@",
        "-import ray",
    ]
    assert "+import tunelab as ray" in captured.out.splitlines()
    assert "+from tunelab.schedulers import (" in captured.out.splitlines()
    assert captured.err.splitlines() == [
        "train.py:7: no counterpart: ray.get_actor (tunelab has no attribute 'get_actor')"
    ]
    assert script.read_text() == SCRIPT


def test_cli_write_rewrites_in_place(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script.chmod(0o755)
    crlf = script.parent / "crlf.py"
    crlf.write_bytes(b"\xef\xbb\xbfimport ray.tune as tune\r\nx = 'caf\xc3\xa9'\r\n")
    assert main(["port", "--write", "train.py", "crlf.py", "helper.py"]) == 0
    out = capsys.readouterr().out
    assert "helper.py: no Ray import to change" in out
    assert out.splitlines()[-1].endswith("; written")
    assert script.read_text() == port_source(SCRIPT, siblings=("helper",)).source
    assert "from helper import f  # a sibling" in script.read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert crlf.read_bytes() == b"\xef\xbb\xbfimport tunelab as tune\r\nx = 'caf\xc3\xa9'\r\n"
    assert sorted(os.listdir(script.parent)) == ["crlf.py", "helper.py", "train.py"]
    assert main(["port", "--write", "train.py"]) == 0
    assert "0 line(s) changed" in capsys.readouterr().out


def test_cli_finds_helpers_in_packages_next_to_the_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pbt_dcgan_mnist").mkdir()
    (tmp_path / "pbt_dcgan_mnist" / "__init__.py").write_text("")
    (tmp_path / "pbt_dcgan_mnist" / "common.py").write_text("Net = 1\n")
    (tmp_path / "top.py").write_text("from ray.tune.examples.pbt_dcgan_mnist.common import Net\n")
    inner = "from ray.tune.examples.pbt_dcgan_mnist.common import Net\n"
    (tmp_path / "pbt_dcgan_mnist" / "func.py").write_text(inner)
    assert main(["port", "--write", "top.py", "pbt_dcgan_mnist/func.py"]) == 0
    assert (tmp_path / "top.py").read_text() == "from pbt_dcgan_mnist.common import Net\n"
    assert (tmp_path / "pbt_dcgan_mnist" / "func.py").read_text() == "from common import Net\n"
    assert "0 without counterpart" in capsys.readouterr().out
    # a script named like its directory is not its own sibling
    (tmp_path / "pbt_dcgan_mnist" / "pbt_dcgan_mnist.py").write_text(
        "from ray.tune.examples.pbt_dcgan_mnist import common\n"
    )
    assert main(["port", "--write", "pbt_dcgan_mnist/pbt_dcgan_mnist.py"]) == 0
    assert (tmp_path / "pbt_dcgan_mnist" / "pbt_dcgan_mnist.py").read_text() == "import common\n"


def test_cli_bad_input_is_one_line_and_status_2(
    script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["port", "--write", "train.py", "missing.py"]) == 2
    assert capsys.readouterr().err == "tunelab port: error: 'missing.py' does not exist\n"
    assert script.read_text() == SCRIPT  # nothing written when one script is bad
    (script.parent / "broken.py").write_text("import ray\n\ndef f(:\n    pass\n")
    assert main(["port", "broken.py"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunelab port: error: broken.py: line 3: syntax error")
    assert len(err.splitlines()) == 1
    assert main(["port", "."]) == 2
    assert capsys.readouterr().err == "tunelab port: error: '.' is not a file\n"
    with pytest.raises(SystemExit) as info:
        main(["port", "--write", "--diff", "train.py"])
    assert info.value.code == 2


def test_cli_help_names_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["port", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tunelab port [-h] [--write | --diff] SCRIPT [SCRIPT ...]")
    assert "`import ray` ->\n`import tunelab as ray`" in out
