"""The frames board as people watch it (issue 25; headless chromium, one set of services for the module): pinned
cards outlive the rolling window, <OD> answers are drawn as labelled boxes inside the thumbnail, comparison cards
name one frame number and why a frame was lost, and an upload unlike the shapes world gets a note."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest
from browser import comparison_on, console_errors, page_on_shapes_stream, png_bytes, wait_for
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from test_page_browser import rest

from semlink.launch.config import CHANNEL, RECEIVER, TRANSMITTER
from semlink.samples import sample_images

FPS = 2
WORLD_NOTE = "knows only the shapes world"


@pytest.fixture(scope="module")
def page(chromium):
    """(driver, link): the page open on the three services, the shapes stream at 2 frames/s."""
    with page_on_shapes_stream(fps=FPS) as opened:
        yield opened


def received(driver) -> int:
    return driver.execute_script("return window.semlink.board.receivedCount")


def answered_card(driver):
    """(card key, frame id) of a shown card whose caption is answered and whose thumbnail is in."""
    return wait_for("an answered card with its thumbnail", lambda: driver.execute_script("""
        const v = [...document.querySelectorAll('#frames .card:not(.pinned) .variant')].find(v =>
          v.querySelector('.caption.answered') && v.closest('.card').querySelector('img[src]'));
        return v && [v.closest('.card').dataset.key, Number(v.dataset.frameId)];"""), timeout=30)


def ask(driver, frame_id: int, task: str) -> str:
    """Ask ``task`` again with the card's own form; the answer's line under the frame."""
    variant = driver.find_element(By.CSS_SELECTOR, f"#frames .variant[data-frame-id='{frame_id}']")
    Select(variant.find_element(By.CLASS_NAME, "task")).select_by_visible_text(task)
    variant.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return wait_for(f"the {task} answer under frame {frame_id}", lambda: driver.execute_script(
        "const li = document.querySelector(`#frames .variant[data-frame-id='${arguments[0]}'] .answers li`);"
        "return li && li.textContent.startsWith(arguments[1] + ' ') && li.textContent;", frame_id, task))


def test_a_pinned_card_keeps_its_asked_answer_past_the_rolling_window_until_unpinned(page):
    driver, _ = page
    key, frame_id = answered_card(driver)
    driver.find_element(By.CSS_SELECTOR, f"#frames .card[data-key='{key}'] button.pin").click()
    wait_for("the card shown pinned", lambda: driver.execute_script(
        "const c = document.querySelector(`#frames .card[data-key='${arguments[0]}']`);"
        "return c.classList.contains('pinned') && c.querySelector('button.pin').getAttribute('aria-pressed') === 'true'",
        key))
    answer = ask(driver, frame_id, "<DETAILED_CAPTION>")
    start = received(driver)
    wait_for("more than 8 frames after it", lambda: received(driver) > start + 9, timeout=60)
    newest = driver.execute_script("return window.semlink.board.order.slice(-8)")
    assert frame_id not in newest  # out of the rolling window: only the pin keeps it
    card = driver.execute_script("""const c = document.querySelector(`#frames .card[data-key='${arguments[0]}']`);
        return c && {first: c === document.querySelector('#frames .card'),
                     answers: [...c.querySelectorAll('.answers li')].map(li => li.textContent)};""", key)
    assert card and card["first"] and answer in card["answers"]
    assert driver.execute_script("return document.querySelectorAll('#frames .card:not(.pinned)').length") <= 8
    driver.find_element(By.CSS_SELECTOR, f"#frames .card[data-key='{key}'] button.pin").click()
    wait_for("the unpinned card gone", lambda: not driver.find_elements(
        By.CSS_SELECTOR, f"#frames .card[data-key='{key}']"))
    assert console_errors(driver) == []


def test_od_answers_are_drawn_as_labelled_boxes_inside_the_thumbnail(page):
    driver, link = page
    key, frame_id = answered_card(driver)
    driver.find_element(By.CSS_SELECTOR, f"#frames .card[data-key='{key}'] button.pin").click()  # it stays
    line = ask(driver, frame_id, "<OD>")
    with rest(link, RECEIVER) as rx:
        od = rx.post(f"/v1/frames/{frame_id}/tasks", json={"task": "<OD>"}).json()["result"]
    od = od.get("<OD>", od)
    assert "bboxes" not in line and "drawn on the thumbnail" in line
    drawn = wait_for("the answer's boxes drawn", lambda: (d := driver.execute_script("""
        const c = document.querySelector(`#frames .variant[data-frame-id='${arguments[0]}']`).closest('.card');
        const t = c.querySelector('.thumb').getBoundingClientRect();
        return {rects: c.querySelectorAll('svg.boxes rect.pred-box').length,
                labels: [...c.querySelectorAll('.box-label.pred-box')].map(l => l.dataset.label),
                outside: [...c.querySelectorAll('.box-label')].map(l => l.getBoundingClientRect()).filter(r =>
                  r.left < t.left - 0.5 || r.top < t.top - 0.5 || r.right > t.right + 0.5 || r.bottom > t.bottom + 0.5
                ).length};""", frame_id)) and d["rects"] == len(od["bboxes"]) and d, timeout=10)
    assert drawn["rects"] > 0 and drawn["labels"] == [label for label in od["labels"] if label]
    assert drawn["outside"] == 0
    driver.find_element(By.CSS_SELECTOR, f"#frames .card[data-key='{key}'] button.pin").click()
    # boxes at every edge (one touching the top, one the right, one the bottom): no label leaves the thumbnail
    edges = draw_labels(driver, [[0, 0, 40, 30], [100, 0, 128, 4], [90, 120, 128, 128], [0, 125, 128, 128],
                                 [60, 60, 70, 70]])
    assert edges["outside"] == 0 and edges["overlapping"] == []
    assert edges["answers"] == [f"{i}" if marker else "a long answer label" for i, marker in edges["markers"]]
    assert console_errors(driver) == []


def draw_labels(driver, boxes: list[list[int]]) -> dict:
    """Draw ``boxes`` (in a 128 × 128 image) as the truth ('truth label') and as an <OD> answer ('a long answer
    label') on a thumbnail of the page's own style: how many labels, how many outside it, the pairs that overlap,
    the answers' texts and which of them are numbered markers."""
    return driver.execute_async_script("""const [boxes, done] = arguments;
        import('/static/boxes.js').then(({drawBoxes}) => {
          const thumb = document.createElement('div');
          thumb.className = 'thumb';
          thumb.innerHTML = '<svg class="boxes"></svg><div class="box-labels"></div>';
          document.body.prepend(thumb);
          drawBoxes(thumb, {image_size: [128, 128], truth: {objects: boxes.map(box => ({box, label: 'truth label'}))}},
                    {'<OD>': {bboxes: boxes, labels: boxes.map(() => 'a long answer label')}}, null);
          const t = thumb.getBoundingClientRect();
          const labels = [...thumb.querySelectorAll('.box-label')];
          const rects = labels.map(l => l.getBoundingClientRect());
          const overlap = (a, b, e = 0.02) => a.left < b.right - e && b.left < a.right - e && a.top < b.bottom - e
            && b.top < a.bottom - e;  // by more than layout's rounding (1/64 px)
          const answers = labels.filter(l => l.classList.contains('pred-box'));
          done({n: labels.length,
                outside: rects.filter(r => r.left < t.left - 0.5 || r.top < t.top - 0.5 || r.right > t.right + 0.5
                  || r.bottom > t.bottom + 0.5).length,
                overlapping: rects.flatMap((a, i) => rects.slice(i + 1).map((b, j) => [i, i + 1 + j, overlap(a, b)]))
                  .filter(([, , o]) => o).map(([i, j]) => [labels[i].dataset.label, labels[j].dataset.label]),
                answers: answers.map(l => l.textContent),
                markers: answers.map((l, i) => [i + 1, l.classList.contains('marker')]),
                sized: rects.every(r => r.width > 4 && r.height > 4)});
          thumb.remove();
        });""", boxes)


def test_box_labels_on_small_neighbouring_boxes_never_overlap_and_stay_in_the_thumbnail(page):
    driver, _ = page
    # a row of small boxes side by side, two overlapping ones, one inside another, a cluster at the right edge
    boxes = [[10, 10, 22, 22], [22, 10, 34, 22], [34, 10, 46, 22], [12, 40, 30, 58], [20, 48, 38, 66],
             [60, 60, 100, 100], [70, 70, 80, 80], [110, 100, 120, 110], [116, 104, 128, 116], [110, 116, 122, 128]]
    drawn = draw_labels(driver, boxes)
    assert drawn["overlapping"] == [] and drawn["outside"] == 0 and drawn["sized"]
    # every answer is named on its box, by its label or, where that fits nowhere, by its number
    assert len(drawn["answers"]) == len(boxes)
    assert drawn["answers"] == [f"{i}" if marker else "a long answer label" for i, marker in drawn["markers"]]
    assert drawn["n"] > len(boxes)  # and truth labels where they fit
    assert console_errors(driver) == []


def test_comparison_cards_show_one_frame_number_and_name_why_a_frame_was_lost(page):
    driver, link = page
    with rest(link, TRANSMITTER) as tx, rest(link, CHANNEL) as ch, comparison_on(tx, "fp16"):
        try:
            pairs = wait_for("three comparison cards with both halves' records", lambda: (p := pair_cards(driver))
                             and len(p) >= 3 and p, timeout=40)
            for numbers, pair_id in pairs:
                assert numbers == [f"#{pair_id % 2**32}"] * 2
            # every packet corrupted: the receiver says so, and the card names it
            ch.put("/v1/channel", json={"loss_model": "none", "ber": 0.02}).raise_for_status()
            wait_for("a frame lost with every packet corrupted", lambda: lost_captions(driver) & {
                "lost: every packet corrupted"}, timeout=40)
            ch.post("/v1/channel/reset").raise_for_status()
            ch.put("/v1/channel", json={"loss_model": "bernoulli", "loss": 0.6}).raise_for_status()
            wait_for("a frame lost with no packet arriving", lambda: lost_captions(driver) & {
                "lost: no packet arrived"}, timeout=40)
        finally:
            ch.post("/v1/channel/reset")
    assert console_errors(driver) == []


def pair_cards(driver) -> list[tuple[list[str], int]]:
    """(the number each half shows, the pair's id) of every comparison card whose halves both have records."""
    return [(numbers, pair_id) for numbers, pair_id in driver.execute_script("""
        const board = window.semlink.board;
        return [...document.querySelectorAll('#frames .card.pair')].map(c => {
          const halves = [...c.querySelectorAll('.variant')].map(v => board.frames.get(Number(v.dataset.frameId)));
          if (halves.length !== 2 || halves.some(f => !f || f.pair_id === undefined)) return null;
          return [[...c.querySelectorAll('.variant .codec')].map(p => p.textContent.split(' · ')[0]),
                  halves[0].pair_id];
        }).filter(Boolean);""")]


def lost_captions(driver) -> set[str]:
    return set(driver.execute_script(
        "return [...document.querySelectorAll('#frames .caption.error')].map(c => c.textContent)"))


def upload(driver, image: Image.Image) -> int:
    """Drop ``image`` on the page's drop zone; its frame id."""
    before = set(driver.execute_script("return [...window.semlink.board.localThumbs.keys()]"))
    driver.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
        document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
    """, base64.b64encode(png_bytes(image)).decode())
    (frame_id,) = wait_for("the dropped frame's id", lambda: set(driver.execute_script(
        "return [...window.semlink.board.localThumbs.keys()]")) - before)
    return frame_id


def photo_like(seed: int = 0, size=(320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    field = lambda cells: np.asarray(Image.fromarray(rng.uniform(0, 255, (*cells, 3)).astype(np.uint8))
                                     .resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    pixels = 0.7 * field((6, 8)) + 0.3 * field((48, 64)) + rng.normal(0, 6, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_an_upload_unlike_the_shapes_world_gets_a_plain_note_and_a_scene_does_not(page):
    driver, link = page
    with rest(link, TRANSMITTER) as tx:
        tx.put("/v1/source", json={"kind": "shapes", "fps": FPS, "paused": True}).raise_for_status()
        try:
            photo, scene = upload(driver, photo_like()), upload(driver, sample_images(1)[0])
            note = lambda fid: driver.execute_script(
                "const v = document.querySelector(`#frames .variant[data-frame-id='${arguments[0]}']`);"
                "if (!v || !v.querySelector('.caption.answered')) return null;"
                "const n = v.closest('.card').querySelector('.world-note');"
                "return n.hidden ? '' : n.textContent;", fid)
            assert WORLD_NOTE in wait_for("the photo's card with its note", lambda: note(photo), timeout=30)
            wait_for("the scene's card answered", lambda: note(scene) is not None, timeout=30)
            time.sleep(0.5)  # its record has been read: no note comes
            assert note(scene) == ""
            assert tx.get(f"/v1/frames/{photo}").json()["unlike_model_world"] is True
            assert tx.get(f"/v1/frames/{scene}").json()["unlike_model_world"] is False
        finally:
            tx.put("/v1/source", json={"kind": "shapes", "fps": FPS, "paused": False})
    assert console_errors(driver) == []


ORDER_BOARD = """const [steps, done] = arguments;
    import('/static/frames.js').then(({FrameBoard}) => {
      // a board of its own, its services answering only the transmitter's records given
      const S = 2 ** 32, records = new Map();
      const offline = () => Promise.reject(new Error('not in this test'));
      const transmitter = {request: offline, json: (path) => {
        const record = records.get(Number(path.split('/').pop()));
        return record ? Promise.resolve(record) : offline(); }};
      const board = new FrameBoard(document.createElement('div'), {receiver: {json: offline}, transmitter,
        autoTask: '<CAPTION>', onChange: () => {}});
      board.mainCodec = 'learned';
      const id = ([stream, seq]) => stream * S + seq;
      const numbers = () => [...board.element.querySelectorAll('.card:not(.pinned)')].map(card =>
        Number(card.querySelector('.variant .codec').textContent.split(' · ')[0].slice(1)));
      const run = async ([what, a, b]) => {
        if (what === 'received') board.received({frame_id: id(a), status: 'ok', codec: b || 'learned',
          wire_bytes: 80, packets: 1, packets_lost: 0});
        else if (what === 'lost') board.lost({frame_id: id(a), loss: 'gap', packets_lost: 1, packets: 1}, 'frame_lost');
        else if (what === 'record') records.set(id(a), {codec: b ? 'avif:20' : 'learned', pair_id: id(b || a)});
        else if (what === 'pin') board.togglePin(board.frames.get(id(a)).key);
        else if (what === 'wait') await new Promise((resolve) => setTimeout(resolve, a));
      };
      (async () => {
        const shown = [];
        for (const step of steps) { if (step[0] === 'look') shown.push(numbers()); else await run(step); }
        done({shown, pinned: [...board.element.querySelectorAll('.card.pinned')].map(c => c.dataset.frameIds)});
      })();
    });"""


def test_the_rolling_cards_are_newest_first_by_frame_number_however_late_their_events(page):
    """Frames of stream 7 with losses reported when a later frame shows the gap, frames read back after newer
    ones arrived, comparison twins (stream 9) lost late, a pinned card, then a restarted transmitter (stream 11)
    counting from 1 again: the unpinned cards go by frame number, newest first, the new stream's on top."""
    driver, _ = page
    own = lambda seq: [7, seq]  # noqa: E731
    twin = lambda seq: [9, seq]  # noqa: E731
    steps = [["received", own(20)], ["received", own(21)], ["received", own(23)], ["lost", own(22)],
             ["received", own(25)], ["lost", own(24)], ["received", own(18)], ["received", own(19)],
             ["wait", 300], ["look"],
             # comparison: each learned frame's twin on stream 9, a twin lost whole reported after the next pair
             *[step for seq, n in ((26, 1), (27, 2), (28, 3), (29, 4)) for step in (
                 ["record", own(seq), own(seq)], ["record", twin(n), own(seq)])],
             ["received", own(26)], ["received", twin(1), "pixels-avif"], ["received", own(27)],
             ["received", own(28)], ["lost", twin(2)], ["received", twin(3), "pixels-avif"], ["lost", own(29)],
             ["received", twin(4), "pixels-avif"], ["wait", 400], ["look"],
             ["pin", own(23)], ["lost", own(30)], ["received", own(31)], ["wait", 300], ["look"],
             # the transmitter restarted: a new stream, its numbers from 1
             ["received", [11, 1]], ["received", [11, 3]], ["lost", [11, 2]], ["wait", 300], ["look"]]
    result = driver.execute_async_script(ORDER_BOARD, steps)
    plain, paired, pinned, restarted = result["shown"]
    assert plain == [25, 24, 23, 22, 21, 20, 19, 18]
    assert paired == [29, 28, 27, 26, 25, 24, 23, 22]
    assert result["pinned"] == [str(7 * 2**32 + 23)]
    assert pinned == [31, 30, 29, 28, 27, 26, 25, 24]
    assert restarted == [3, 2, 1, 31, 30, 29, 28, 27]
    for numbers in (plain, paired, pinned):
        assert all(a > b for a, b in zip(numbers, numbers[1:])), numbers
    assert console_errors(driver) == []
