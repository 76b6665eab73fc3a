"""The web GUI in a real browser: Debian's Chromium driven by Playwright against a real server.

Screenshots of every example model's page (laptop and phone widths) and of the widgets
model's result are saved under ``test-artifacts/ui/`` for people to look at.
"""

from __future__ import annotations

import configparser
import re
import threading
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright
from servers import RunningServer
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from deepserve_testmodels.media import png
from deepserve_testmodels.widgets import gradient_png

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
EXAMPLES = ROOT / "examples"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PICTURE = {"name": "dot.png", "mimeType": "image/png", "buffer": png(8, 8, lambda x, y: (0, 99, 0))}
CSV = {"name": "rows.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,x\n2,y\n3,z\n"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"
    ),
]


def example_models() -> list[str]:
    """The model names the examples declare (entry points in ``examples/*/setup.cfg``)."""
    names = []
    for setup in sorted(EXAMPLES.glob("*/setup.cfg")):
        config = configparser.ConfigParser()
        config.read(setup)
        for group in ("deepserve.model", "deepaas.v2.model"):
            declared = config.get("options.entry_points", group, fallback="")
            names += [line.split("=")[0].strip() for line in declared.splitlines() if "=" in line]
    return names


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors  # no JavaScript exception on any page


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real ``deepserve run`` for this module: the widgets and stream models, the examples."""
    models = [arg for name in ["widgets", "stream", *example_models()] for arg in ("--model", name)]
    data_dir = tmp_path_factory.mktemp("data")
    running = RunningServer(
        *models,
        log_dir=data_dir,
        env={"DEEPSERVE_DATA_DIR": str(data_dir / "state")},
        ready_timeout=180,  # the examples warm for a while on a busy machine
    )
    yield running
    running.stop()


def open_model(page: Page, base: str, name: str, tab: str = "predict") -> None:
    page.goto(f"{base}/ui/#/{name}/{tab}")
    expect(page.locator("h1")).to_have_text(name)


def view(page: Page, title: str):
    """The result section titled ``title``."""
    return page.locator(".result .view").filter(has=page.locator("h3", has_text=title))


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_model_list_shows_metadata_and_opens_a_model(page, server):
    page.goto(server.url + "/ui/")
    card = page.locator(".card").filter(has=page.get_by_role("link", name="widgets"))
    expect(card).to_contain_text("Declares one argument of every kind")
    expect(card).to_contain_text("version 0.1")
    expect(card).to_contain_text("by deepserve developers")
    card.get_by_role("link", name="widgets").click()
    expect(page.locator("h1")).to_be_focused()
    expect(page.get_by_role("link", name="Predict")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Validate")).to_be_visible()
    expect(page.locator("form#predict")).to_be_visible()


def test_every_widget_fills_the_request_and_the_result_is_rendered(page, server):
    open_model(page, server.url, "widgets")
    form = page.locator("form#predict")
    # each argument kind got its widget, prefilled with its default
    expect(form.locator("textarea#predict-notes")).to_be_visible()
    expect(form.locator("#predict-secret")).to_have_attribute("type", "password")
    expect(form.locator("input[type=radio][value=red]")).to_be_checked()
    expect(form.locator("select#predict-country option")).to_have_count(9)  # 8 + "not set"
    expect(form.locator("input[type=checkbox][value=cheap]")).not_to_be_checked()
    expect(form.locator("#predict-count")).to_have_value("3")
    expect(form.locator(".field[data-name=count] input[type=range]")).to_have_attribute("max", "10")
    expect(form.locator("#predict-seed")).to_have_attribute("type", "number")
    expect(form.locator("#predict-day")).to_have_attribute("type", "date")
    expect(form.locator("#predict-moment")).to_have_attribute("type", "datetime-local")
    expect(form.locator("#predict-image")).to_have_attribute("accept", "image/*")
    expect(form.get_by_text("Any text (but not 'forbidden').")).to_be_visible()
    expect(form.locator(".field[data-name=text] .required")).to_be_visible()

    page.get_by_label("text *").fill("hello")
    page.get_by_label("notes").fill("line one\nline two")
    page.get_by_label("secret").fill("s3cret")
    page.get_by_label("blue").check()
    page.get_by_label("country").select_option("Finland")
    page.get_by_label("fast").check()
    page.get_by_label("accurate").check()
    slider = page.get_by_label("count (slider)")
    slider.focus()
    page.keyboard.press("ArrowRight")  # the slider moves the number...
    expect(page.locator("#predict-count")).to_have_value("4")
    page.locator("#predict-count").fill("7")  # ...and the number moves the slider
    expect(slider).to_have_value("7")
    page.locator("#predict-threshold").fill("0.25")
    page.get_by_label("seed").fill("42")
    page.get_by_label("scale").fill("2.5")
    page.get_by_label("enabled").check()
    page.get_by_label("values").fill("1, 2.5 4")
    page.get_by_label("labels, item 1").fill("a")
    for n, label in ((2, "b"), (3, "c")):
        page.get_by_role("button", name="Add labels").click()
        page.get_by_label(f"labels, item {n}").fill(label)
    page.get_by_role("button", name="Add labels").click()
    page.get_by_label("labels, item 4").fill("dropped")
    page.get_by_role("button", name="Remove labels item 4").click()
    expect(page.get_by_role("button", name="Add labels")).to_be_focused()
    page.get_by_label("image").set_input_files(PICTURE)
    expect(page.locator(".field[data-name=image] .preview img")).to_be_visible()
    page.get_by_label("table").set_input_files(CSV)
    preview = page.locator(".field[data-name=table] .preview table")
    expect(preview.locator("tbody tr")).to_have_count(3)
    page.get_by_label("day").fill("2024-02-29")
    page.get_by_label("moment").fill("2024-02-29T13:45:10")

    with page.expect_response("**/v2/models/widgets/predict/") as answer:
        page.get_by_role("button", name="Predict").click()
    received = answer.value.json()["received"]
    assert received == {
        "text": "hello",
        "notes": "line one\r\nline two",  # multipart form data: CRLF, as from any HTML form
        "secret": "s3cret",
        "color": "blue",
        "country": "Finland",
        "tags": ["fast", "accurate"],
        "count": 7,
        "threshold": 0.25,
        "seed": 42,
        "scale": 2.5,
        "enabled": True,
        "values": [1.0, 2.5, 4.0],
        "labels": ["a", "b", "c"],
        "day": "2024-02-29",
        "moment": "2024-02-29T13:45:10",
        "files": {
            "image": {
                "original_filename": "dot.png",
                "content_type": "image/png",
                "size": len(PICTURE["buffer"]),
            },
            "table": {
                "original_filename": "rows.csv",
                "content_type": "text/csv",
                "size": len(CSV["buffer"]),
                "rows": 3,
            },
        },
    }

    records = view(page, "records").locator("table")
    expect(records.locator("thead th")).to_have_text(["index", "label", "value"])
    expect(records.locator("tbody tr").nth(1)).to_have_text("1b2.5")
    expect(view(page, "series").locator("svg.chart polyline")).to_have_count(1)
    curves = view(page, "curves")  # a dict of series, plotted because of its "plot" hint
    expect(curves.locator("svg.chart polyline")).to_have_count(2)
    expect(curves.locator(".legend li")).to_have_text(["value", "square"])
    columns = view(page, "columns").locator("table")  # a dict of columns, by its "table" hint
    expect(columns.locator("thead th")).to_have_text(["label", "value"])
    expect(columns.locator("tbody tr").nth(2)).to_have_text("c4")
    thumbnail = view(page, "thumbnail").locator("img")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 48
    tree = view(page, "JSON").locator(".tree").first
    expect(tree).to_contain_text('text: "hello"')
    received_node = tree.locator("details").filter(has_text="received:").first
    received_node.locator("summary").first.click()  # collapse...
    expect(received_node.get_by_text('text: "hello"')).to_be_hidden()
    received_node.locator("summary").first.click()  # ...and expand again
    expect(received_node.get_by_text('text: "hello"')).to_be_visible()
    screenshot(page, "widgets-result-laptop")

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "widgets-result-phone")


def test_client_side_checks_stop_a_bad_request(page, server):
    open_model(page, server.url, "widgets")
    sent = []
    page.on(
        "request", lambda request: sent.append(request.url) if "/predict/" in request.url else 0
    )
    page.locator("#predict-count").fill("11")
    page.get_by_label("values").fill("1, two")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#predict-text-error")).to_have_text("This field is required.")
    expect(page.locator("#predict-count-error")).to_have_text("Must be at most 10.")
    expect(page.locator("#predict-values-error")).to_have_text("“two” is not a number.")
    expect(page.get_by_label("text *")).to_be_focused()
    assert sent == []


def test_server_validation_error_is_shown_next_to_its_field(page, server):
    open_model(page, server.url, "widgets")
    text = page.get_by_label("text *")
    text.fill("forbidden")
    with page.expect_response("**/predict/") as answer:
        page.get_by_role("button", name="Predict").click()
    assert answer.value.status == 422
    error = page.locator("#predict-text-error")
    expect(error).to_have_text("This word is not allowed.")
    expect(text).to_have_attribute("aria-describedby", "predict-text-help predict-text-error")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(page.locator("form#predict .form-error")).to_contain_text("Invalid arguments")
    text.fill("allowed")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result h2")).to_have_text("Result")
    expect(error).to_be_hidden()


def test_response_media_type_can_be_chosen(page, server):
    open_model(page, server.url, "widgets")
    page.get_by_label("text *").fill("x")
    page.get_by_label("values").fill("3 1 2")
    page.get_by_label("Response type").select_option("image/png")
    page.get_by_role("button", name="Predict").click()
    picture = page.locator(".result img.result-image")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") == 96
    link = page.get_by_role("link", name="Download widgets-predict.png")
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == gradient_png()

    page.get_by_label("Response type").select_option("text/csv")
    page.get_by_role("button", name="Predict").click()
    table = page.locator(".result table")
    expect(table.locator("thead th")).to_have_text(["index", "label", "value"])
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name="Download widgets-predict.csv")).to_be_visible()


def test_a_prediction_run_in_background_is_followed_as_a_job(page, server):
    open_model(page, server.url, "widgets")
    page.get_by_label("text *").fill("x")
    page.get_by_label("values").fill("3 1 2")
    page.get_by_label("Response type").select_option("image/png")
    page.get_by_label("Run in background").check()
    page.get_by_role("button", name="Predict").click()
    job = page.locator(".background section.job")
    expect(job.locator(".badge")).to_have_text("done")
    picture = job.locator("img.result-image")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") == 96
    expect(page.locator(".background .jobs tbody tr")).to_have_count(1)
    expect(page.locator(".result")).to_be_empty()  # nothing was answered directly
    screenshot(page, "widgets-predict-background-laptop")

    page.get_by_label("Run in background").uncheck()
    page.get_by_label("Response type").select_option("application/json")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result h2")).to_have_text("Result")  # direct again
    expect(page.locator(".background .jobs tbody tr")).to_have_count(1)


def test_streamed_items_appear_as_they_arrive(page, server, tmp_path):
    gate = tmp_path / "gate"
    open_model(page, server.url, "stream")
    expect(page.get_by_label("Response type")).to_have_count(0)  # the GUI streams, always
    page.get_by_role("spinbutton", name="count").fill("3")
    page.get_by_label("gate").fill(str(gate))
    page.get_by_role("button", name="Predict").click()
    items = page.locator(".result .stream-items > li")
    status = page.locator(".result .stream-count")
    expect(items).to_have_count(1)  # the model waits for the gate before its second item
    expect(status).to_have_text("Receiving… 1 item")
    expect(items.first).to_contain_text('text: "item 0"')
    gate.touch()
    expect(items).to_have_count(3)
    expect(status).to_have_text("3 items, complete.")


def test_stopping_a_stream_keeps_its_items_and_closes_the_models_generator(
    page, server, tmp_path, wait
):
    marker = tmp_path / "closed"
    open_model(page, server.url, "stream")
    page.get_by_role("spinbutton", name="count").fill("10000")
    page.get_by_role("spinbutton", name="delay").fill("0.05")
    page.get_by_label("marker").fill(str(marker))
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result .stream-items > li").nth(2)).to_be_attached()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".result .stream-count")).to_have_text(
        re.compile(r"^\d+ items; stopped\.$")
    )
    expect(page.get_by_role("button", name="Predict")).to_be_enabled()
    wait(marker.exists, timeout=30)  # the server noticed and closed the generator


def test_streamed_text_is_appended_and_pictures_replaced(page, server):
    open_model(page, server.url, "stream")
    page.get_by_role("spinbutton", name="count").fill("4")
    page.get_by_label("text", exact=True).check()
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result .stream-text")).to_have_text("item 0 item 1 item 2 item 3 ")
    page.get_by_label("image", exact=True).check()
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result .stream-count")).to_have_text("4 items, complete.")
    picture = page.locator(".result img.result-image")
    expect(picture).to_have_count(1)
    expect(picture).to_have_attribute("alt", "Item 4")


def test_a_stream_failing_midway_keeps_its_items_and_shows_the_error(page, server):
    open_model(page, server.url, "stream")
    page.get_by_role("spinbutton", name="count").fill("5")
    page.get_by_role("spinbutton", name="fail at").fill("2")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result .stream-items > li")).to_have_count(2)
    expect(page.locator(".result .form-error")).to_have_text(
        "Model 'stream' failed in predict: RuntimeError: the model broke at item 2"
    )
    expect(page.locator(".result .stream-count")).to_have_text("2 items, then an error.")


def test_validate_tab_uploads_a_file_and_shows_the_result(page, server):
    open_model(page, server.url, "widgets")
    page.get_by_role("link", name="Validate").click()
    page.get_by_label("data *").set_input_files(CSV)
    page.get_by_role("button", name="Validate").click()
    summary = page.locator(".result dl.summary")
    expect(summary).to_contain_text("rows3")
    expect(view(page, "JSON")).to_contain_text('columns: ["a","b"]')


def test_keyboard_only_prediction_with_labelled_inputs(page, server):
    page.goto(server.url + "/ui/")
    for _ in range(40):  # tab to the iris card and open it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "iris":
            break
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_be_focused()
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('main input, main select, main textarea')]
        .filter((e) => !e.labels.length && !e.getAttribute('aria-label')).map((e) => e.id)"""
    )
    assert unlabelled == []
    values = {
        "sepal_length": "5.1",
        "sepal_width": "3.5",
        "petal_length": "1.4",
        "petal_width": "0.2",
    }
    for _ in range(60):  # tab through the form, typing into each measurement
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.type]")
        if focused[1] == "number" and focused[0].removeprefix("predict-") in values:
            page.keyboard.type(values[focused[0].removeprefix("predict-")])
        if focused[1] == "submit":
            break
    page.keyboard.press("Enter")
    expect(page.locator(".result dl.summary")).to_contain_text("labelsetosa")
    expect(view(page, "probabilities").locator("tbody tr")).to_have_count(3)


def test_training_jobs_run_to_the_end_and_can_be_cancelled(page, server):
    open_model(page, server.url, "widgets", "train")
    page.locator("#train-steps").fill("3")
    page.locator("#train-delay").fill("0.1")
    page.get_by_role("button", name="Start training").click()
    job = page.locator("section.job")
    expect(job.locator(".badge")).to_have_text("done")
    expect(job.locator(".progress-line")).to_contain_text("100 %")
    expect(job).to_contain_text("step 3 of 3")
    expect(job.locator("pre.log")).to_contain_text("step 3/3: loss 0.1250")
    expect(job.locator(".tree")).to_contain_text("loss: 0.125")

    page.locator("#train-steps").fill("100")
    page.locator("#train-delay").fill("0.5")
    page.get_by_role("button", name="Start training").click()
    expect(job.locator(".badge")).to_have_text("running")
    job.get_by_role("button", name="Cancel job").click()
    expect(job.locator(".badge")).to_have_text("cancelled")
    rows = page.locator(".jobs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator(".badge")).to_have_text(["cancelled", "done"])
    rows.nth(1).get_by_role("button").click()  # a past job, opened again
    expect(job.locator(".badge")).to_have_text("done")
    expect(job.locator("pre.log")).to_contain_text("step 3/3")
    screenshot(page, "widgets-train-laptop")


def test_training_a_deepaas_model_whose_jobs_come_in_deepaas_shapes(page, run_server, tmp_path):
    server = run_server("--model", "deepaas-class", env={"DEEPSERVE_DATA_DIR": str(tmp_path)})
    open_model(page, server.url, "deepaas-class", "train")
    page.get_by_role("button", name="Start training").click()
    job = page.locator("section.job")
    expect(job.locator(".badge")).to_have_text("done")
    result = job.locator(".tree").first  # DEEPaaS's result, the model's output within
    expect(result).to_contain_text("finish_date")
    expect(result).to_contain_text("trained: true")
    expect(page.locator(".jobs tbody tr")).to_have_count(1)  # from the bare array


def test_a_queued_job_that_another_server_keeps_from_starting_says_why(page, run_server, tmp_path):
    shared = ["--data-dir", str(tmp_path / "data")]
    first = run_server("--model", "iris", *shared)  # its supervisor holds the data directory
    second = run_server("--model", "widgets", *shared)
    open_model(page, second.url, "widgets", "train")
    page.locator("#train-steps").fill("1")
    page.get_by_role("button", name="Start training").click()
    job = page.locator("section.job")
    expect(job.locator(".badge")).to_have_text("queued")
    expect(job.locator(".progress-line")).to_contain_text(
        f"Another server (pid {first.process.pid}) holds the job supervisor lock"
    )
    expect(job.locator(".progress-line")).to_contain_text("does not serve model 'widgets'")
    screenshot(page, "widgets-train-waiting")
    first.stop()  # the second server's supervisor takes over
    expect(job.locator(".badge")).to_have_text("done")


def test_access_token_is_sent_with_every_request(page, server):
    page.goto(server.url + "/ui/")
    page.get_by_text("Access token").click()
    page.get_by_label("Bearer token").fill("s3cret-token")
    page.get_by_label("Bearer token").press("Enter")
    page.reload()  # the token is kept for the browser tab
    expect(page.get_by_label("Bearer token")).to_have_value("s3cret-token")
    open_model(page, server.url, "iris")
    for name in ("sepal_length", "sepal_width", "petal_length", "petal_width"):
        page.locator(f"#predict-{name}").fill("1")
    with page.expect_request("**/v2/models/iris/predict/") as sent:
        page.get_by_role("button", name="Predict").click()
    assert sent.value.headers["authorization"] == "Bearer s3cret-token"


def sample_uploads(name: str, folder: Path) -> dict[str, str]:
    """Typical files for the examples' file arguments, by argument name."""
    if name == "cell-segmentation":  # scikit-image ships this microscopy image in its wheel
        skimage_data = pytest.importorskip("skimage.data")
        return {"image": str(Path(skimage_data.__file__).parent / "ihc.png")}
    if name == "load-forecast":  # the last two weeks of the bundled series
        lines = (EXAMPLES / "load_forecast/deepserve_load_forecast/data/load.csv").read_text()
        header, *rows = lines.splitlines()
        history = folder / "history.csv"
        history.write_text("\n".join([header, *rows[-14 * 24 :]]) + "\n")
        return {"data": str(history)}
    return {}


@pytest.mark.parametrize("name", example_models())
def test_screenshots_of_example_models(page, server, name, tmp_path):
    """Each example's page, filled with its declared examples and predicted, at two widths."""
    open_model(page, server.url, name)
    for field in page.locator("form#predict input[required][placeholder^='e.g. ']").all():
        field.fill(field.get_attribute("placeholder").removeprefix("e.g. "))
    for argument, path in sample_uploads(name, tmp_path).items():
        page.locator(f"form#predict input[type=file][name='{argument}']").set_input_files(path)
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result h2")).to_have_text("Result")
    screenshot(page, f"{name}-laptop")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, f"{name}-phone")


@pytest.fixture
def prefixed_server(app):
    """The app mounted at ``/prefix`` (as behind a reverse proxy), in a werkzeug thread."""
    wsgi = DispatcherMiddleware(NotFound(), {"/prefix": app})
    httpd = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()
    httpd.server_close()


def test_gui_works_under_a_base_path(page, prefixed_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(prefixed_server + "/prefix/ui/")
    page.get_by_role("link", name="echo", exact=True).click()
    page.get_by_label("text *").fill("ab")
    page.locator("#predict-count").fill("2")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator(".result dl.summary")).to_contain_text("textabab")
    assert page.evaluate("location.pathname") == "/prefix/ui/"
    paths = [url.removeprefix(prefixed_server) for url in requested]
    assert all(path.startswith("/prefix/") for path in paths), paths
    assert "/prefix/v2/models/echo/predict/" in paths


def test_swagger_ui_authorize_and_try_it_out_under_a_base_path(page, run_server):
    """Swagger UI (not the GUI, same browser): its page policy lets it run, its Authorize
    button takes the token, and Try it out sends it, through a real server under a prefix."""
    server = run_server(
        "--model", "echo", "--base-path", "/m", "--token", "tok-123",
        ready_path="/m/v2/health/live",
    )  # fmt: skip
    console_errors = []  # a Content-Security-Policy violation is reported here
    page.on("console", lambda message: message.type == "error" and console_errors.append(message))
    page.goto(server.url + "/m/api/")
    page.get_by_role("button", name="Authorize").click()
    page.locator(".auth-container input").fill("Bearer tok-123")
    page.locator(".auth-container").get_by_role("button", name="Authorize").click()
    page.get_by_role("button", name="Close").click()
    page.locator("#operations-tag-echo").click()
    page.locator("#operations-echo-predict_echo").click()
    page.get_by_role("button", name="Try it out").click()
    page.locator("#operations-echo-predict_echo input[placeholder='text']").fill("hi")
    with page.expect_response("**/m/v2/models/echo/predict/") as answered:
        page.get_by_role("button", name="Execute").click()
    assert answered.value.request.headers["authorization"] == "Bearer tok-123"
    assert answered.value.status == 200 and answered.value.json()["text"] == "hi"
    assert not console_errors, [message.text for message in console_errors]


def test_a_model_that_failed_to_load_is_shown_with_the_reason(page, run_server, tmp_path, wait):
    targets = Path(__file__).parent / "targets"
    for name in ("doubler.py", "factor.py"):
        (tmp_path / name).write_text((targets / name).read_text())
    server = run_server(f"{tmp_path}/doubler.py:Doubler", "--model", "echo", "--reload")
    (tmp_path / "factor.py").write_text("FACTOR = undefined\n")  # broken by an edit
    ready = server.url + "/v2/health/ready"
    wait(lambda: "doubler" in requests.get(ready, timeout=10).json()["rejected"])
    page.goto(server.url + "/ui/")
    card = page.locator(".card.rejected")
    expect(card.locator("h2")).to_have_text("doubler")
    expect(card).to_contain_text("import failed: NameError: name 'undefined' is not defined")
    expect(page.get_by_role("link", name="echo")).to_be_visible()
    page.goto(server.url + "/ui/#/doubler")
    expect(page.locator("h1")).to_have_text("doubler")
    expect(page.locator("main")).to_contain_text("This model failed to load: import failed")
