"""The Data page in a real Chromium against a real `syncline dev` (and `syncline serve` for
the typed confirmation): edits in the grid reach the HTTP API, API writes reach the open
grid live, the validator's message shows, a large table opens one page at a time and
filters, bulk edits and deletes act on the selected rows."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.dashboard.conftest import copy_dash_app, open_dashboard
from tests.e2e.conftest import start_server

BIG = 20_000
BATCH = 2_000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tasks(server) -> list[dict]:
    return server.run("query", "tasks:list")["value"]


def admin(server, kind: str, path: str, args: dict) -> object:
    return server.run(kind, path, args, admin=True)["value"]


def goto(page, server, hash_: str) -> None:
    """Open `hash_` by loading the page (the router reads the hash it starts with; a hash
    change while the app boots, before it listens for them, would be missed)."""
    page.goto(f"{server.url}/dashboard/{hash_}")
    page.reload()
    expect(page.get_by_test_id("data-page")).to_be_visible()


def row(page, text: str):
    return page.get_by_test_id("row").filter(has_text=text)


def test_edit_a_cell_and_a_whole_document_and_see_them_through_the_http_api(page, dash_dev,
                                                                              screenshot):
    text = unique("write docs")
    owner = admin(dash_dev, "mutation", "tasks:add_user", {"name": "Ada", "email": "ada@example.com"})
    grace = admin(dash_dev, "mutation", "tasks:add_user",
                  {"name": "Grace", "email": "grace@example.com"})
    admin(dash_dev, "mutation", "_system/frontend/addDocuments", {"table": "tasks", "documents": [
        {"text": "ship the dashboard", "done": False, "priority": 1.0, "owner": grace,
         "tags": ["release"]},
        {"text": "review the schema", "done": True, "priority": 3.0, "owner": owner},
        {"text": "answer issues", "done": False, "priority": 2.5},
        {"text": text, "done": False, "priority": 2.0, "owner": owner, "tags": ["docs"]}]})
    goto(page, dash_dev, "#/data/tasks")
    target = row(page, text)
    expect(target).to_have_count(1)

    # A cell: double-click, type a JSON value, Enter.
    target.locator('td[data-col="priority"]').dblclick()
    cell = page.get_by_test_id("cell-input")
    expect(cell).to_have_value("2")
    cell.fill("5")
    cell.press("Enter")
    expect(target.locator('td[data-col="priority"]')).to_have_text("5")
    [doc] = [t for t in tasks(dash_dev) if t["text"] == text]
    assert doc["priority"] == 5

    # A bad value is refused with the validator's message next to the cell; Escape leaves.
    target.locator('td[data-col="done"]').dblclick()
    page.get_by_test_id("cell-input").fill('"yes"')
    page.get_by_test_id("cell-input").press("Enter")
    expect(page.get_by_test_id("cell-error")).to_contain_text("v.boolean()")
    page.get_by_test_id("cell-input").press("Escape")
    expect(page.get_by_test_id("cell-input")).to_have_count(0)
    assert [t for t in tasks(dash_dev) if t["text"] == text][0]["done"] is False

    # The whole document in the JSON editor; Ctrl+Enter saves.
    target.get_by_test_id("edit-doc").click()
    editor = page.get_by_test_id("json-editor")
    expect(editor).to_have_value(re.compile('"priority": 5'))
    edited = text + " (edited)"
    editor.fill(f'{{text: "{edited}", done: true, priority: 7, owner: "{owner}"}}')
    editor.press("Control+Enter")
    expect(page.get_by_test_id("edit-dialog")).to_have_count(0)
    expect(row(page, edited).locator('td[data-col="done"]')).to_have_text("true")
    [doc] = [t for t in tasks(dash_dev) if t["text"] == edited]
    assert doc["done"] is True and doc["priority"] == 7 and "tags" not in doc

    # The owner is a v.id("users"): a link to the user, shown in the side panel.
    row(page, edited).locator('td[data-col="owner"]').get_by_test_id("ref-link").click()
    expect(page).to_have_url(re.compile(rf"#/data/users\?id={owner}$"))
    expect(page.get_by_test_id("table-title")).to_have_text("users")
    expect(page.get_by_test_id("doc-panel")).to_contain_text("ada@example.com")
    expect(row(page, owner)).to_have_class(re.compile("active"))
    goto(page, dash_dev, f"#/data/tasks?id={doc['_id']}")
    expect(page.get_by_test_id("doc-panel")).to_contain_text(edited)
    page.get_by_test_id("panel-close").click()
    expect(page).to_have_url(re.compile(r"#/data/tasks$"))
    expect(row(page, "ship the dashboard")).to_have_count(1)
    expect(page.locator(".toast")).to_have_count(0)
    screenshot(page, "data")
    assert page.js_errors == []


def test_a_document_written_through_the_api_appears_live(page, dash_dev):
    goto(page, dash_dev, "#/data/tasks")
    expect(page.get_by_test_id("grid-loading")).to_have_count(0)
    before = int(page.get_by_test_id("count-tasks").inner_text().replace(",", ""))
    text = unique("from the api")
    dash_dev.run("mutation", "tasks:add", {"text": text, "priority": 3.0})
    expect(row(page, text)).to_have_count(1)
    expect(page.get_by_test_id("row").first).to_contain_text(text)  # newest first
    expect(page.get_by_test_id("count-tasks")).to_have_text(f"{before + 1:,}")
    [doc] = [t for t in tasks(dash_dev) if t["text"] == text]
    dash_dev.run("mutation", "tasks:set_done", {"id": doc["_id"], "done": True})
    expect(row(page, text).locator('td[data-col="done"]')).to_have_text("true")
    assert page.js_errors == []


def test_adding_documents_shows_the_validator_message_and_adds_valid_ones(page, dash_dev):
    goto(page, dash_dev, "#/data/tasks")
    page.get_by_test_id("add-documents").click()
    editor = page.get_by_test_id("json-editor")
    expect(editor).to_be_focused()
    first, second = unique("added"), unique("added")
    editor.fill(f'[{{text: "{first}", done: false, priority: 1}}, '
                f'{{text: "{second}", done: "no", priority: 2}}]')
    page.get_by_test_id("editor-save").click()
    message = page.get_by_test_id("editor-error")
    expect(message).to_contain_text("v.boolean()")
    expect(message).to_contain_text("document 2")
    expect(message).to_contain_text("field done")
    assert not [t for t in tasks(dash_dev) if t["text"] in (first, second)]  # nothing added

    editor.fill(f'[{{text: "{first}", done: false, priority: 1}}, '
                f'{{text: "{second}", done: true, priority: 2, tags: ["a", "b"],}}]')
    expect(message).to_have_count(0)
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("add-dialog")).to_have_count(0)
    expect(row(page, first)).to_have_count(1)
    expect(row(page, second)).to_have_count(1)
    assert {t["text"] for t in tasks(dash_dev)} >= {first, second}

    # Escape closes the editor without adding anything.
    page.get_by_test_id("add-documents").click()
    page.get_by_test_id("json-editor").press("Escape")
    expect(page.get_by_test_id("add-dialog")).to_have_count(0)
    assert page.js_errors == []


def test_a_large_table_opens_one_page_at_a_time_and_filters_through_an_index(page, dash_dev):
    for start in range(0, BIG, BATCH):
        dash_dev.run("mutation", "dataui_seed:seed_big", {"start": start, "count": BATCH})
    goto(page, dash_dev, "#/data/big")
    expect(page.get_by_test_id("table-count")).to_have_text(f"{BIG:,} documents")
    expect(page.get_by_test_id("row")).to_have_count(100)  # one page, not the table
    expect(page.get_by_test_id("row").first.locator('td[data-col="n"]')).to_have_text(str(BIG - 1))
    width = page.get_by_test_id("col-n").bounding_box()["width"]

    # Scrolling to the end loads the next page below, without moving what is shown.
    first_row = page.get_by_test_id("row").first.bounding_box()
    page.get_by_test_id("grid").evaluate("grid => { grid.scrollTop = grid.scrollHeight; }")
    expect(page.get_by_test_id("row").nth(199).locator('td[data-col="n"]')).to_have_text(
        str(BIG - 200))
    page.get_by_test_id("grid").evaluate("grid => { grid.scrollTop = 0; }")
    assert page.get_by_test_id("row").first.bounding_box() == first_row
    assert page.get_by_test_id("col-n").bounding_box()["width"] == width
    shown = page.get_by_test_id("row").count()
    assert shown < BIG
    page.get_by_test_id("load-more").click()
    expect(page.get_by_test_id("row").nth(shown + 99)).to_be_attached()

    page.get_by_test_id("add-filter").click()
    page.get_by_test_id("filter-field").fill("group")
    page.get_by_test_id("filter-value").fill('"g7"')
    page.get_by_test_id("filter-value").press("Enter")
    page.get_by_test_id("add-filter").click()
    page.get_by_test_id("filter-field").fill("n")
    page.get_by_test_id("filter-op").select_option("lt")
    page.get_by_test_id("filter-value").fill("100")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("filter-chip")).to_have_text(['group = "g7"×', "n < 100×"])
    expect(page.get_by_test_id("filter-plan")).to_have_text("Uses the index by_group on group, n")
    cells = page.locator('[data-testid="row"] td[data-col="n"]')
    expect(cells).to_have_text([str(n) for n in range(97, 0, -10)])

    # Ascending by the by_n index, with a type filter; the value editor names a bad value.
    page.get_by_test_id("filter-remove").first.click()
    page.get_by_test_id("index-picker").select_option("by_n")
    page.get_by_test_id("order-toggle").click()
    expect(cells.first).to_have_text("0")
    expect(cells).to_have_count(100)
    page.get_by_test_id("add-filter").click()
    page.get_by_test_id("filter-field").fill("n")
    page.get_by_test_id("filter-value").fill("twelve")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("filter-error")).to_contain_text("strings need quotes")
    page.get_by_test_id("filter-op").select_option("isNotType")
    page.get_by_test_id("filter-type").select_option("number")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("grid-empty")).to_have_text("No documents match these filters.")

    # A _creationTime range: from a time to come, nothing; from long ago, everything.
    page.get_by_test_id("filter-remove").first.click()
    page.get_by_test_id("filter-remove").click()
    page.get_by_test_id("index-picker").select_option("")
    page.get_by_test_id("add-range").click()
    page.get_by_test_id("created-from").fill("2099-01-01T00:00:00")
    expect(page.get_by_test_id("filter-plan")).to_have_text(
        "Uses the index by_creation_time on _creationTime")
    expect(page.get_by_test_id("grid-empty")).to_have_text("No documents match these filters.")
    page.get_by_test_id("created-from").fill("2000-01-01T00:00:00")
    expect(cells.first).to_have_text("0")  # still ascending
    expect(cells).to_have_count(100)

    # More selected rows than one call may name (1,000) are deleted in several calls.
    while (shown := cells.count()) <= 1000:
        page.get_by_test_id("load-more").click()
        expect(cells.nth(shown + 99)).to_be_attached()  # the next page is there
    selected = cells.count()
    page.get_by_test_id("select-all").check()
    expect(page.get_by_test_id("delete-selected")).to_have_text(f"Delete {selected} selected")
    page.get_by_test_id("delete-selected").click()
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("table-count")).to_have_text(f"{BIG - selected:,} documents")
    expect(cells.first).to_have_text(str(selected))
    assert admin(dash_dev, "query", "_system/frontend/tableSize", {"table": "big"}) == BIG - selected
    assert page.js_errors == []


def test_bulk_edit_then_delete_the_selected_documents(page, dash_dev):
    texts = [unique("bulk") for _ in range(3)]
    for text in texts:
        dash_dev.run("mutation", "tasks:add", {"text": text})
    keep = unique("keep")
    dash_dev.run("mutation", "tasks:add", {"text": keep})
    goto(page, dash_dev, "#/data/tasks")
    # Newest first: texts[2], texts[1], texts[0] are adjacent; Shift-click selects the range.
    row(page, texts[2]).get_by_test_id("row-check").click()
    row(page, texts[0]).get_by_test_id("row-check").click(modifiers=["Shift"])
    expect(page.get_by_test_id("delete-selected")).to_have_text("Delete 3 selected")
    expect(row(page, texts[1]).get_by_test_id("row-check")).to_be_checked()
    expect(row(page, keep).get_by_test_id("row-check")).not_to_be_checked()

    page.get_by_test_id("bulk-edit").click()
    page.get_by_test_id("json-editor").fill("{done: true, priority: 9, tags: undefined}")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("bulk-dialog")).to_have_count(0)
    for text in texts:
        expect(row(page, text).locator('td[data-col="priority"]')).to_have_text("9")
    docs = {t["text"]: t for t in tasks(dash_dev)}
    assert all(docs[t]["done"] is True and docs[t]["priority"] == 9 for t in texts)
    assert docs[keep]["done"] is False

    page.get_by_test_id("delete-selected").click()
    page.get_by_test_id("confirm-button").click()
    for text in texts:
        expect(row(page, text)).to_have_count(0)
    expect(row(page, keep)).to_have_count(1)
    remaining = {t["text"] for t in tasks(dash_dev)}
    assert keep in remaining and not remaining & set(texts)
    assert page.js_errors == []


def test_schema_panel_and_a_schema_generated_from_the_data(page, dash_dev):
    dash_dev.run("mutation", "tasks:add", {"text": unique("schema")})
    goto(page, dash_dev, "#/data/tasks")
    page.get_by_test_id("table-menu").click()
    page.get_by_test_id("menu-schema").click()
    panel = page.get_by_test_id("schema-panel")
    expect(panel.get_by_test_id("schema-fields")).to_contain_text('v.optional(v.id("users"))')
    expect(panel.get_by_test_id("index-by_done")).to_contain_text("done, priority")
    expect(panel.get_by_test_id("index-by_done").get_by_test_id("backfill")).to_have_text("✓ ready")
    panel.press("Escape")
    expect(panel).to_have_count(0)

    page.get_by_test_id("table-menu").click()
    page.get_by_test_id("menu-generate").click()
    expect(page.get_by_test_id("generated-schema")).to_contain_text('"tasks": define_table(')
    assert page.js_errors == []


def test_clear_a_table_on_dev_without_typing_its_name(page, dash_dev):
    table = "scratch_" + uuid.uuid4().hex[:6]
    admin(dash_dev, "mutation", "_system/frontend/addDocuments",
          {"table": table, "documents": [{"a": 1}, {"a": 2}]})
    goto(page, dash_dev, f"#/data/{table}")
    expect(page.get_by_test_id("row")).to_have_count(2)
    page.get_by_test_id("table-menu").click()
    page.get_by_test_id("menu-clear").click()
    expect(page.get_by_test_id("confirm-text")).to_have_count(0)
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("grid-empty")).to_contain_text("This table is empty")
    expect(page.get_by_test_id(f"count-{table}")).to_have_text("0")
    assert admin(dash_dev, "query", "_system/frontend/tableSize", {"table": table}) == 0


def test_deleting_a_table_on_serve_needs_its_name_typed(browser, tmp_path):
    server = start_server(copy_dash_app(tmp_path), "serve")
    page = None
    try:
        admin(server, "mutation", "_system/frontend/addDocuments",
              {"table": "scratch", "documents": [{"a": 1}]})
        page = open_dashboard(browser, server, hash="#/data/scratch")
        expect(page.get_by_test_id("deployment-name")).to_contain_text("production")
        expect(page.get_by_test_id("row")).to_have_count(1)
        page.get_by_test_id("table-menu").click()
        page.get_by_test_id("menu-delete-table").click()
        confirm = page.get_by_test_id("confirm-button")
        expect(confirm).to_be_disabled()
        page.get_by_test_id("confirm-text").fill("scratc")
        expect(confirm).to_be_disabled()
        page.get_by_test_id("confirm-text").fill("scratch")
        confirm.click()
        expect(page.get_by_test_id("table-scratch")).to_have_count(0)
        expect(page).to_have_url(re.compile(r"#/data$"))
        names = [t["name"] for t in admin(server, "query", "_system/frontend/tables", {})]
        assert "scratch" not in names and "tasks" in names

        # A table the schema declares is refused, with the reason, and kept.
        goto(page, server, "#/data/users")
        page.get_by_test_id("table-menu").click()
        page.get_by_test_id("menu-delete-table").click()
        page.get_by_test_id("confirm-text").fill("users")
        page.get_by_test_id("confirm-button").click()
        expect(page.get_by_test_id("confirm").get_by_test_id("error")).to_contain_text("schema")
        assert "users" in [t["name"] for t in admin(server, "query", "_system/frontend/tables", {})]
        assert page.js_errors == []
    finally:
        if page is not None:
            page.context.close()
        server.stop()


def test_the_grid_and_the_table_menu_work_from_the_keyboard(page, dash_dev):
    text = unique("keys")
    dash_dev.run("mutation", "tasks:add", {"text": text, "priority": 4.0})
    goto(page, dash_dev, "#/data/tasks")
    target = row(page, text)
    target.locator('td[data-col="done"]').click()
    expect(target.locator('td[data-col="done"]')).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(target.locator('td[data-col="priority"]')).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cell-input")).to_be_focused()
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    expect(target.locator('td[data-col="priority"]')).to_have_text("6")
    expect(target.locator('td[data-col="priority"]')).to_be_focused()  # the keyboard goes on
    assert [t for t in tasks(dash_dev) if t["text"] == text][0]["priority"] == 6

    page.get_by_test_id("add-documents").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("table-menu")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("menu-schema")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("menu-generate")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("menu-generate")).to_have_count(0)
    expect(page.get_by_test_id("table-menu")).to_be_focused()
    assert page.js_errors == []


def test_a_deployment_without_tables_says_so_and_a_new_table_appears_live(browser, tmp_path):
    app = tmp_path / "empty"
    (app / "convex").mkdir(parents=True)
    (app / "convex" / "notes.py").write_text(
        "from syncline import mutation, v\n\n\n"
        "@mutation(args={'text': v.string()})\n"
        "async def add(ctx, text):\n"
        "    return await ctx.db.insert('notes', {'text': text})\n")
    server = start_server(app)
    page = None
    try:
        page = open_dashboard(browser, server, hash="#/data")
        expect(page.get_by_test_id("empty")).to_contain_text("No tables yet")
        server.run("mutation", "notes:add", {"text": "first"})
        page.get_by_test_id("table-notes").click()
        expect(page.get_by_test_id("row")).to_have_text([re.compile("first")])
        expect(page.get_by_test_id("col-text")).to_be_visible()  # a column from the data
        assert page.js_errors == []
    finally:
        if page is not None:
            page.context.close()
        server.stop()


def test_a_page_that_grows_with_inserts_is_split_without_losing_rows(page, dash_dev):
    table = "grow_" + uuid.uuid4().hex[:6]
    admin(dash_dev, "mutation", "_system/frontend/addDocuments",
          {"table": table, "documents": [{"i": i} for i in range(50)]})
    goto(page, dash_dev, f"#/data/{table}")
    cells = page.locator('[data-testid="row"] td[data-col="i"]')
    expect(cells).to_have_count(50)
    expect(page.get_by_test_id("grid")).to_have_attribute("data-pages", "1")
    # 250 more while the view is open: the one live page grows to 300 documents, more than
    # twice its size, and the deployment asks for a split: two pages, every row still there.
    admin(dash_dev, "mutation", "_system/frontend/addDocuments",
          {"table": table, "documents": [{"i": i} for i in range(50, 300)]})
    expect(page.get_by_test_id("grid")).to_have_attribute("data-pages", "2")
    expect(cells).to_have_count(300)
    expect(cells.first).to_have_text("299")
    texts = cells.all_inner_texts()
    assert sorted(int(t) for t in texts) == list(range(300))
    assert page.js_errors == []
