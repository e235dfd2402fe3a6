"""Discovery in the browser: the status strip, the CORS recipes, the model cards' chips."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from conftest import REPO, XSS_ID, Page, runtime_env, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def cli_discovery(fakes: dict[str, Any]) -> dict[str, Any]:
    """`localrate discover --json` on the same fakes (the CLI sends no Origin header)."""
    out = subprocess.run([str(REPO / ".venv" / "bin" / "localrate"), "discover", "--json"],
                         cwd=REPO, env=runtime_env(fakes), capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def row(page: Any, key: str) -> Any:
    return page.locator(f"[data-testid=runtime-row-{key}]")


def test_strip_states_and_recipes_from_a_foreign_origin(lr: Page, server: str) -> None:
    """From http://localrate.test:PORT (not loopback): Ollama answers its empty 403, LM
    Studio refuses CORS, MLX's port is closed, vLLM and llama.cpp are up."""
    origin = server.replace("127.0.0.1", "localrate.test")
    page = lr.page
    page.goto(f"{origin}/local-models")
    # The strip is there at once, before Python is ready.
    expect(row(page, "ollama")).to_be_visible(timeout=3000)
    lr.wait_ready()
    states = {"lmstudio": "refused", "vllm": "up", "llamacpp": "up", "mlx": "refused"}
    for key, state in states.items():
        expect(row(page, key)).to_have_attribute("data-state", state, timeout=10_000)
    # Ollama's empty 403 carries no CORS header, so fetch sees a network error, as for
    # LM Studio. An opaque no-cors probe shows that both ports answer; MLX's is closed.
    expect(row(page, "ollama")).to_have_attribute("data-state", "unauthorized")
    for key, answered in (("ollama", "true"), ("lmstudio", "true"), ("mlx", "false")):
        expect(row(page, key)).to_have_attribute("data-answered", answered)
    expect(row(page, "ollama")).to_contain_text("Ollama refuses this page's origin")
    expect(row(page, "lmstudio")).to_contain_text("CORS settings refuse this page")
    expect(row(page, "mlx")).to_contain_text("cannot tell")
    expect(row(page, "vllm")).to_contain_text("1 model")
    for key in ("vllm", "llamacpp"):
        expect(page.locator(f"[data-testid=cors-fix-{key}]")).to_be_hidden()

    page.click("[data-testid=cors-fix-lmstudio]")
    recipe = page.locator("[data-testid=cors-recipe-lmstudio]")
    expect(recipe).to_be_visible()
    expect(recipe).to_contain_text("Enable CORS")
    expect(recipe).to_contain_text("lms server start --cors")
    page.click("[data-testid=cors-fix-ollama]")
    expect(page.locator("[data-testid=cors-recipe-ollama]")).to_contain_text(
        f'OLLAMA_ORIGINS="{origin}" ollama serve')
    expect(page.locator("[data-testid=cors-fix-ollama]")).to_have_attribute("aria-expanded", "true")
    # Only the models of the runtimes that are up.
    expect(page.locator("[data-testid=model-card]")).to_have_count(2)
    screenshot(page, "discovery-foreign-origin")
    page.click("[data-testid=cors-fix-ollama]")
    expect(page.locator("[data-testid=cors-recipe-ollama]")).to_be_hidden()


def page_chips(lr: Page, model_id: str) -> list[dict[str, str]]:
    chips = lr.card(model_id).locator(".chip")
    return [{"name": chips.nth(i).get_attribute("data-cap"),
             "source": chips.nth(i).get_attribute("data-source")} for i in range(chips.count())]


def test_cards_and_chips_match_the_cli(lr: Page, fakes: dict[str, Any]) -> None:
    """From 127.0.0.1 every fake is reachable but LM Studio and MLX: each model's chips
    (name and source) equal what `localrate discover --json` says."""
    page = lr.open()
    expect(row(page, "ollama")).to_have_attribute("data-state", "up", timeout=10_000)
    cli = cli_discovery(fakes)
    expected = {m["id"]: m for m in cli["models"]}
    shown = {"qwen3-vl:8b", "smollm2:1.7b", "nomic-embed-text", XSS_ID, "fault-model",
             "slow-model"}
    assert shown <= set(expected), sorted(expected)
    expect(page.locator("[data-testid=model-card]")).to_have_count(len(shown), timeout=10_000)
    for model_id in shown:
        assert page_chips(lr, model_id) == expected[model_id]["capabilities"], model_id
    # Runtime-reported chips are marked as such; embeddings cannot be picked.
    assert {"name": "vision", "source": "runtime"} in page_chips(lr, "qwen3-vl:8b")
    expect(lr.card("nomic-embed-text").locator("input[type=checkbox]")).to_be_disabled()
    expect(lr.card("qwen3-vl:8b").locator("input[type=checkbox]")).to_be_enabled()
    expect(lr.card("qwen3-vl:8b")).to_contain_text("context 262,144")
    screenshot(page, "discovery")


def test_custom_endpoint_is_probed_and_remembered(lr: Page, fakes: dict[str, Any]) -> None:
    """A host:port added by the visitor is probed, and still there after a reload."""
    page = lr.open()
    page.locator("details.custom summary").click()
    page.fill("[data-testid=custom-host]", fakes["custom"].removeprefix("http://"))
    page.select_option("[data-testid=custom-dialect]", "vllm")
    page.locator("[data-testid=custom-form] button[type=submit]").click()
    custom = page.locator("[data-testid^=runtime-row-custom-]")
    expect(custom).to_have_attribute("data-state", "up", timeout=10_000)
    expect(lr.card("custom-model")).to_be_visible()
    page.reload()
    lr.wait_ready()
    expect(page.locator("[data-testid^=runtime-row-custom-]")).to_have_attribute(
        "data-state", "up", timeout=10_000)
    expect(lr.card("custom-model")).to_be_visible()


def test_model_cards_show_before_python_is_ready(lr: Page, server: str) -> None:
    """Model ids appear as soon as a probe answers (read where the evaluator's table says
    they are); chips and picking wait for Python, which is held back here."""
    page = lr.page
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/assets/evaluator.*.zip", hold)  # Python waits for this
    page.goto(f"{server}/local-models")
    card = page.locator("[data-testid=model-card][data-model-id='slow-model']")
    expect(card).to_be_visible(timeout=5000)
    expect(card).to_have_attribute("data-provisional", "true")
    expect(card.locator("[data-testid=model-select]")).to_be_disabled()
    expect(card.locator(".chip")).to_have_count(0)
    expect(card).to_contain_text("Capabilities appear when the evaluator")
    expect(page.locator("[data-testid=evaluator-status]")).not_to_have_attribute(
        "data-stage", "ready")
    screenshot(page, "cards-before-python")
    page.wait_for_timeout(200)
    for route in held:
        route.continue_()
    page.unroute("**/assets/evaluator.*.zip", hold)
    lr.wait_ready()
    expect(card).to_have_attribute("data-provisional", "false", timeout=10_000)
    expect(card.locator("[data-testid=model-select]")).to_be_enabled()
    expect(card.locator(".chip").first).to_be_visible()
