"""The Functions page in Chromium against a real `syncline dev`: the list from the spec, the
runner (form, raw JSON, live query results, pagination, act as a user, errors) and charts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.dashboard.conftest import open_dashboard


def open_function(browser, server, path: str):
    page = open_dashboard(browser, server, hash=f"#/functions/{path}")
    expect(page.get_by_test_id("fn-path")).to_have_text(path)
    return page


def test_the_list_shows_every_function_with_kind_visibility_and_arguments(page, dash_dev):
    page.get_by_test_id("nav-functions").click()
    module = page.get_by_test_id("fn-module-funchealth")
    expect(module.get_by_test_id("fn-item-funchealth:describe")).to_contain_text("query")
    expect(module.get_by_test_id("fn-item-funchealth:refuse")).to_contain_text("mutation")
    expect(module.get_by_test_id("fn-item-funchealth:double")).to_contain_text("action")
    expect(module.get_by_test_id("fn-item-funchealth:secret")).to_contain_text("internal")
    expect(page.get_by_test_id("fn-module-tasks")).to_be_visible()
    page.get_by_test_id("fn-filter").fill("whoami")
    expect(page.get_by_test_id("fn-item-funchealth:describe")).to_have_count(0)
    page.get_by_test_id("fn-item-funchealth:whoami").click()
    expect(page.get_by_test_id("fn-path")).to_have_text("funchealth:whoami")
    page.get_by_test_id("fn-filter").fill("")
    page.get_by_test_id("fn-item-funchealth:describe").click()
    expect(page.get_by_test_id("fn-visibility")).to_have_text("public")
    expect(page.get_by_test_id("fn-args")).to_have_text(
        '{ color: "red" | "blue", count: number, loud: boolean, note?: string, tags: string[], '
        "text: string }")  # the spec lists fields by name
    assert page.js_errors == []


def test_run_a_query_with_the_form_and_with_raw_json(browser, dash_dev, screenshot):
    page = open_function(browser, dash_dev, "funchealth:describe")
    try:
        page.get_by_test_id("arg-text-input").fill("tea")
        page.get_by_test_id("arg-count-input").fill("3")
        page.get_by_test_id("arg-color-input").select_option(label='"blue"')
        page.get_by_test_id("arg-note-include").check()
        page.get_by_test_id("arg-note-input").fill("hot")
        page.get_by_test_id("arg-tags-input-add").click()
        page.get_by_test_id("arg-tags-input-0").fill("green")
        page.get_by_role("button", name="Run query").click()
        expect(page.get_by_test_id("fn-result")).to_have_text('"tea x3 in blue [green] (hot)"')
        # the same arguments as raw JSON; edited there, they run as written
        page.get_by_test_id("raw-toggle").check()
        editor = page.get_by_test_id("json-editor")
        expect(editor).to_have_value(re.compile(r'"text": "tea"'))
        editor.fill('{"text": "milk", "count": 2, "loud": true, "color": "red", "tags": []}')
        page.get_by_role("button", name="Run again").click()
        expect(page.get_by_test_id("fn-result")).to_have_text('"MILK X2 IN RED"')
        page.get_by_test_id("raw-toggle").uncheck()  # back to the form, with those values
        expect(page.get_by_test_id("arg-text-input")).to_have_value("milk")
        screenshot(page, "functions")
        # a bad number is refused in the form with a message, not sent
        page.get_by_test_id("arg-count-input").fill("two")
        expect(page.get_by_text("a number, like 1.5")).to_be_visible()
        assert page.js_errors == []
    finally:
        page.context.close()


def test_a_query_result_stays_live_as_data_changes(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:open_tasks")
    try:
        expect(page.get_by_test_id("no-args")).to_be_visible()
        page.get_by_role("button", name="Run query").click()
        result = page.get_by_test_id("fn-result")
        expect(result).to_have_text(re.compile(r"^\d+$"))
        before = int(result.inner_text())
        dash_dev.run("mutation", "tasks:add", {"text": "appears live"})
        expect(result).to_have_text(str(before + 1))
        dash_dev.run("mutation", "tasks:add", {"text": "and again"})
        expect(result).to_have_text(str(before + 2))
    finally:
        page.context.close()


def test_a_paginated_query_gets_num_items_cursor_and_next_page(browser, dash_dev):
    for i in range(5):
        dash_dev.run("mutation", "tasks:add", {"text": f"page task {i}"})
    page = open_function(browser, dash_dev, "funchealth:tasks_page")
    try:
        page.get_by_test_id("num-items").fill("2")
        page.get_by_role("button", name="Run query").click()
        expect(page.get_by_test_id("page-info")).to_contain_text("2 items")
        first = page.get_by_test_id("fn-result").inner_text()
        page.get_by_test_id("next-page").click()
        expect(page.get_by_test_id("cursor")).not_to_have_value("")
        expect(page.get_by_test_id("page-info")).to_contain_text("2 items")
        expect(page.get_by_test_id("fn-result")).not_to_have_text(first)
    finally:
        page.context.close()


def test_act_as_a_user_changes_what_ctx_auth_answers(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:whoami")
    try:
        page.get_by_role("button", name="Run query").click()
        expect(page.get_by_test_id("fn-result")).to_have_text('"anonymous"')
        page.get_by_test_id("act-as-toggle").check()
        editor = page.get_by_test_id("identity-editor").get_by_test_id("json-editor")
        editor.fill('{"subject": "user|7", "name": "Grace", "email": "grace@example.com"}')
        page.get_by_role("button", name="Run again").click()
        expect(page.get_by_test_id("fn-result")).to_have_text(
            '"Grace <grace@example.com> (user|7)"')
        editor.fill('{"name": "nobody"}')  # no subject: refused in the page
        page.get_by_role("button", name="Run again").click()
        expect(page.get_by_test_id("identity-editor")).to_contain_text('needs a "subject"')
    finally:
        page.context.close()


def test_mutation_errors_show_their_convex_error_data(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:refuse")
    try:
        page.get_by_test_id("arg-reason-input").fill("closed")
        page.get_by_test_id("arg-reason-input").press("Control+Enter")  # the keyboard runs it
        expect(page.get_by_test_id("fn-error").get_by_test_id("error")).to_have_text(
            "refused: closed")
        expect(page.get_by_test_id("fn-error-data")).to_contain_text('"code": "REFUSED"')
    finally:
        page.context.close()


def test_internal_functions_run_too(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:secret")
    try:
        expect(page.get_by_test_id("fn-visibility")).to_have_text("internal")
        page.get_by_role("button", name="Run query").click()
        expect(page.get_by_test_id("fn-result")).to_have_text("42")
    finally:
        page.context.close()


def test_an_action_with_an_int64_argument(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:double")
    try:
        page.get_by_test_id("arg-n-input").fill("21")
        page.get_by_role("button", name="Run action").click()
        expect(page.get_by_test_id("fn-result")).to_have_text("42")  # sent as an int64
    finally:
        page.context.close()


def test_calls_over_http_move_the_charts_counts_without_a_reload(browser, dash_dev):
    page = open_function(browser, dash_dev, "funchealth:whoami")
    try:
        calls = page.get_by_test_id("fn-hour-invocations")
        expect(calls).to_have_text(re.compile(r"^\d+$"))
        before = int(calls.inner_text())
        for _ in range(3):
            assert dash_dev.run("query", "funchealth:whoami")["status"] == "success"
        expect(calls).to_have_text(str(before + 3))
        assert page.js_errors == []
    finally:
        page.context.close()
