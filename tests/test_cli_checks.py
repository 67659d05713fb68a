"""CLI mistakes cost one line at once: every argument is checked before a model loads, a service starts or a frame
is sent, with "did you mean" for models, codecs and tasks; answers print as plain text; a wrong token says rejected."""

from __future__ import annotations

import pytest
import torch
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from semlink import tasks
from semlink.cli import checks
from semlink.cli.main import main
from semlink.florence.split import LanguageHalf, TaskRequest
from semlink.http.tokens import guarded
from semlink.launch.client import LinkClient, bearer_headers
from semlink.launch.config import LinkConfig


@pytest.fixture
def nothing_starts(monkeypatch):
    """Loading a model, starting the services or calling one fails the test: a check must refuse first."""
    def never(*args, **kwargs):
        raise AssertionError("a model loaded, a service started or a frame was sent before the check refused")

    import semlink.cli.bench
    import semlink.cli.caption
    import semlink.cli.check
    import semlink.cli.codecs
    import semlink.cli.demo
    import semlink.cli.eval
    import semlink.cli.up
    import semlink.soak

    for module in (semlink.cli.bench, semlink.cli.check, semlink.cli.codecs, semlink.cli.eval):
        monkeypatch.setattr(module, "load_model", never)
    monkeypatch.setattr(semlink.cli.demo, "LocalLink", never)
    monkeypatch.setattr(semlink.cli.up, "LocalLink", never)
    monkeypatch.setattr(semlink.cli.caption, "LinkClient", never)
    monkeypatch.setattr(semlink.soak, "run_soak", never)


def refusal(argv: list[str], capsys) -> str:
    """The one stderr line ``semlink argv`` refuses with (exit 1 from a check, 2 from argparse)."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code in (1, 2) and "\n" not in err and "Traceback" not in err, err
    assert err.startswith("semlink ") and ": error: " in err, err
    return err


@pytest.mark.parametrize("argv, says", [
    (["demo", "--codec", "lerned"], "did you mean 'learned'?"),
    (["up", "--codec", "lerned", "--free-ports"], "did you mean 'learned'?"),
    (["up", "--model", "shapes-tiyn"], "did you mean 'shapes-tiny'?"),  # before any word on busy ports
    (["eval", "--codec", "q9"], "did you mean 'q8'?"),
    (["eval", "--codec", "fp16,learned:rate5O"], "did you mean 'learned:rate50'?"),
    (["eval", "--codec", "missing/codec.safetensors"], "no such checkpoint file"),
    (["check", "--model", "shapes-tiyn"], "did you mean 'shapes-tiny'?"),
    (["codecs", "--model", "tiny-randm"], "did you mean 'tiny-random'?"),
    (["eval", "--model", "./no/such/dir"], "no such directory"),
    (["demo", "--model", "shapes-tiyn"], "did you mean 'shapes-tiny'?"),
    (["eval", "--task", "<FOO>"], "unknown task '<FOO>'"),
    (["eval", "--task", "<caption>"], "did you mean '<CAPTION>'?"),
    (["check", "--tasks", "<CAPTION>,<OB>"], "did you mean '<OD>'?"),
    (["demo", "--task", "<DETAILED_CAPTON>"], "did you mean '<DETAILED_CAPTION>'?"),
    (["caption", __file__, "--task", "<FOO>"], "unknown task '<FOO>'"),
    (["caption", __file__, "--task", "<CAPTION_TO_PHRASE_GROUNDING>"], "pass --text TEXT"),
    (["caption", __file__, "--task", "<CAPTION>", "--text", "a red circle"], "drop --text"),
    (["eval", "--n", "0"], "argument --n: must be 1 or more, got 0"),
    (["eval", "--n", "-5"], "argument --n: must be 1 or more, got -5"),
    (["eval", "--batch", "0"], "argument --batch: must be 1 or more"),
    (["eval", "--loss", "0,-0.1"], "argument --loss: must be a probability from 0 to 1"),
    (["eval", "--loss", "1.5"], "argument --loss: must be a probability from 0 to 1"),
    (["eval", "--burst", "0.5"], "argument --burst: a mean burst length is at least 1"),
    (["eval", "--burst", "x"], "argument --burst: 'x' is not a number"),
    (["eval", "--burst", "4", "--loss", "1"], "--burst needs every --loss below 1"),
    (["demo", "--loss", "2"], "argument --loss: must be a probability"),
    (["demo", "--frames", "0"], "argument --frames: must be 1 or more"),
    (["demo", "--burst", "4"], "--burst L needs --loss P"),
    (["up", "--loss", "0.2", "--burst", "0.5", "--free-ports"], "argument --burst: a mean burst length is at least 1"),
    (["demo", "--spread", "17"], "--spread 17: give 0 to 16 frames"),
    (["up", "--codec", "q8,fp16", "--free-ports"], "this runs one codec"),
    (["eval", "--data", "no/such/folder"], "--data no/such/folder: no such folder"),
    (["eval", "--data", ".", "--captions", "no-such.jsonl"], "--captions no-such.jsonl: no such file"),
    (["bench", "link", "--codec", "lerned"], "did you mean 'learned'?"),
    (["bench", "receiver", "--task", "<CAPTON>"], "did you mean '<CAPTION>'?"),
    (["bench", "receiver", "--concurrency", "1,0"], "argument --concurrency: must be 1 or more, got 0"),
    (["bench", "scaling", "--model", "shapes-tiyn"], "did you mean 'shapes-tiny'?"),
    (["soak", "--codec", "q9"], "did you mean 'q8'?"),
    (["soak", "--fps", "0"], "argument --fps: must be above 0"),
])
def test_a_mistake_is_refused_in_one_line_before_anything_starts(argv, says, nothing_starts, capsys):
    assert says in refusal(argv, capsys)


@pytest.mark.parametrize("model", ["shapes-tiny", "tiny-random", "florence-community/Florence-2-base", "."])
def test_models_that_can_load_pass(model):
    checks.check_model(model)


def test_codecs_that_can_load_pass(tmp_path):
    checkpoint = tmp_path / "mine.safetensors"
    checkpoint.write_bytes(b"")
    checks.check_codecs(f"raw,fp16,q8,pca,learned,learned:untrained,learned:rate50,{checkpoint}", "shapes-tiny")
    checks.check_codecs("learned:all", "shapes-tiny", allow_all=True)
    with pytest.raises(checks.BadArgument):
        checks.check_codecs("learned:all", "shapes-tiny")  # eval's sweep shorthand, not one codec


def test_name_lists_are_the_real_ones():
    from semlink.codecs import codec_names
    from semlink.runtime import UNTRAINED, load_model

    assert set(checks.CODEC_NAMES) == set(codec_names()) and checks.UNTRAINED_CODEC == UNTRAINED
    processor = load_model("shapes-tiny", "cpu").processor
    assert set(tasks.TASKS_WITHOUT_TEXT) == set(processor.task_prompts_without_inputs)
    assert set(tasks.TASKS_WITH_TEXT) == set(processor.task_prompts_with_input)


def test_text_answers_print_without_location_tokens(tiny):
    tok = tiny.processor.tokenizer
    text = tok("a red circle", add_special_tokens=False)["input_ids"]
    loc = tok.convert_tokens_to_ids("<loc_677>")
    ids = torch.tensor([[tok.eos_token_id, tok.bos_token_id, *text, loc, loc, tok.eos_token_id]])
    (answer,) = LanguageHalf(tiny).postprocess(ids, [TaskRequest("<DETAILED_CAPTION>", (10, 10))])
    assert "<loc_" not in answer and answer.endswith("circle"), answer


def test_codecs_says_what_it_is_doing_while_it_works(capsys):
    assert main(["codecs", "--model", "tiny-random", "--device", "cpu", "--images", "1", "--json"]) == 0
    progress = capsys.readouterr().err.splitlines()
    assert progress[0] == "semlink codecs: loading model tiny-random..."
    assert [line for line in progress if "coding 1 sample images with" in line][-1].count("(5/5)") == 1


def guarded_link(sent: str | None) -> LinkClient:
    """A client whose calls reach a router guarded by the token ``s3cret``, sending ``sent``."""
    router = APIRouter()
    router.add_api_route("/v1/frames/{frame_id}", lambda frame_id: {"frame_id": frame_id, "status": "sent"})
    app = FastAPI()
    app.include_router(router, **guarded("s3cret"))
    client = LinkClient("http://testserver", "http://testserver", token=sent)
    client.http = TestClient(app, headers=bearer_headers(sent))
    return client


def test_a_wrong_token_says_rejected_a_missing_one_says_needed():
    with pytest.raises(RuntimeError, match="rejected the token sent"):
        guarded_link("WRONG").frame_status(1)
    with pytest.raises(RuntimeError, match="needs its API token"):
        guarded_link(None).frame_status(1)
    assert guarded_link("s3cret").frame_status(1)["status"] == "sent"


def test_the_live_page_line_says_how_to_open_a_guarded_page():
    from semlink.cli.up import page_line

    assert page_line(LinkConfig()) == LinkConfig().page_url
    line = page_line(LinkConfig(api_token="s3cret"))
    assert line.startswith(LinkConfig().page_url + "?token=") and "SEMLINK_API_TOKEN" in line
    assert "s3cret" not in line  # the secret stays off the screen and out of captured logs
