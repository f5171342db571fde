"""The Files page in Chromium against a real `syncline dev`: upload with the picker and by
dropping a file, see the files through the app's own API, preview an image, download,
delete one and the selected files; a file an app stores appears live."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import httpx
from playwright.sync_api import expect


def png(width: int, height: int) -> bytes:
    """A gradient PNG (RGB, 8 bits), written with zlib: a real image for the preview."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(
        b"\x00" + b"".join(bytes((40 + 200 * x // width, 90 + 120 * y // height, 220))
                           for x in range(width))
        for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


PNG = png(96, 64)
T = 20_000  # ms: generous auto-wait


def files(dash_dev) -> dict[str, dict]:
    return {f["id"]: f for f in dash_dev.run("query", "filesset:files", {})["value"]}


def open_files(page, dash_dev) -> None:
    page.get_by_test_id("nav-files").click()
    expect(page.get_by_test_id("files-page")).to_be_visible(timeout=T)


def row(page, storage_id: str):
    return page.locator(f'[data-testid="file-row"][data-id="{storage_id}"]')


def no_toasts(page) -> None:
    """Wait for the toasts to go (they last seconds), for a clean screenshot."""
    expect(page.locator(".toast")).to_have_count(0, timeout=T)


def confirm_delete(page) -> None:
    page.get_by_test_id("confirm").get_by_test_id("confirm-button").click()


def test_upload_preview_download_and_delete(dash_dev, page, screenshot) -> None:
    open_files(page, dash_dev)
    before = set(files(dash_dev))

    # Upload with the file picker.
    page.set_input_files('[data-testid="files-input"]', files=[
        {"name": "red.png", "mimeType": "image/png", "buffer": PNG}])
    expect(page.locator('[data-testid="file-row"]')).to_have_count(len(before) + 1, timeout=T)
    (image,) = set(files(dash_dev)) - before
    stored = files(dash_dev)[image]
    assert stored == {"id": image, "size": len(PNG), "contentType": "image/png"}
    expect(row(page, image).get_by_test_id("file-type")).to_have_text("image/png", timeout=T)

    # Upload by dropping a file on the page.
    drop = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["hello from a drop"], "hello.txt", {type: "text/plain"}));
        return dt;
    }""")
    page.dispatch_event('[data-testid="files-drop"]', "dragenter", {"dataTransfer": drop})
    page.dispatch_event('[data-testid="files-drop"]', "drop", {"dataTransfer": drop})
    expect(page.locator('[data-testid="file-row"]')).to_have_count(len(before) + 2, timeout=T)
    (text,) = set(files(dash_dev)) - before - {image}
    assert files(dash_dev)[text]["contentType"] == "text/plain"

    # A file the app stores appears live.
    stored_by_app = dash_dev.run("action", "filesset:store",
                                 {"text": "from the app", "content_type": "text/csv"})["value"]
    expect(row(page, stored_by_app)).to_be_visible(timeout=T)

    # The image previews: a thumbnail, and the full image in the preview dialog.
    thumb = row(page, image).locator('[data-testid="file-thumb"] img')
    expect(thumb).to_be_visible(timeout=T)
    page.wait_for_function("img => img.complete && img.naturalWidth === 96",
                           arg=thumb.element_handle(), timeout=T)
    row(page, image).get_by_test_id("file-thumb").click()
    preview = page.get_by_test_id("file-preview-image")
    expect(preview).to_be_visible(timeout=T)
    page.wait_for_function("img => img.complete && img.naturalWidth === 96",
                           arg=preview.element_handle(), timeout=T)
    no_toasts(page)
    screenshot(page, "files-preview")
    page.keyboard.press("Escape")
    expect(preview).to_have_count(0, timeout=T)

    # Download: the link serves the same bytes.
    href = row(page, text).get_by_test_id("file-download").get_attribute("href")
    assert httpx.get(href, timeout=30).content == b"hello from a drop"
    with page.expect_download() as download:
        row(page, text).get_by_test_id("file-download").click()
    assert Path(download.value.path()).read_bytes() == b"hello from a drop"

    no_toasts(page)
    screenshot(page, "files")

    # Delete one, with confirmation.
    row(page, text).get_by_test_id("file-delete").click()
    confirm_delete(page)
    expect(row(page, text)).to_have_count(0, timeout=T)
    assert text not in files(dash_dev)

    # Delete the selected ones.
    for storage_id in (image, stored_by_app):
        row(page, storage_id).get_by_role("checkbox").check()
    page.get_by_test_id("files-delete-selected").click()
    confirm_delete(page)
    expect(row(page, image)).to_have_count(0, timeout=T)
    expect(row(page, stored_by_app)).to_have_count(0, timeout=T)
    assert not {image, stored_by_app} & set(files(dash_dev))
    assert page.js_errors == []


def test_upload_error_is_shown(dash_dev, page) -> None:
    """An upload the deployment refuses says why, and stores nothing."""
    open_files(page, dash_dev)
    before = set(files(dash_dev))
    # The upload URL expires or is refused: simulate a refusal by breaking the token.
    page.route("**/api/storage/upload?token=*", lambda route: route.continue_(
        url=route.request.url.replace("token=", "token=0.")))
    page.set_input_files('[data-testid="files-input"]', files=[
        {"name": "broken.txt", "mimeType": "text/plain", "buffer": b"x"}])
    expect(page.get_by_test_id("file-upload-error")).to_contain_text(
        "broken.txt: This upload URL's token is not valid", timeout=T)
    assert set(files(dash_dev)) == before


def test_pages_of_files(dash_dev, page) -> None:
    """25 files a page, newest first; Next and Previous walk the cursor."""
    for n in range(30 - len(files(dash_dev))):
        dash_dev.run("action", "filesset:store", {"text": f"file {n}", "content_type": "text/plain"})
    total = len(files(dash_dev))
    assert total >= 30
    open_files(page, dash_dev)
    rows = page.locator('[data-testid="file-row"]')
    expect(rows).to_have_count(25, timeout=T)
    first = rows.first.get_attribute("data-id")
    page.get_by_test_id("files-next").click()
    expect(rows).to_have_count(total - 25, timeout=T)
    assert first not in {rows.nth(i).get_attribute("data-id") for i in range(total - 25)}
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(25, timeout=T)
    expect(rows.first).to_have_attribute("data-id", first, timeout=T)
