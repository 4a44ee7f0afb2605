"""Files for the attachment tests, made here (images with Pillow), and the
page-side ways of giving one to a page: the paperclip's file chooser, a drop
on the conversation and a paste into the composer (DataTransfer events built
in the page, as a browser dispatches them).
"""

from __future__ import annotations

import base64
import io
import os

from playwright.async_api import expect


def png(width: int = 640, height: int = 420, *, label: str = "ORDER 1042") -> bytes:
    """A PNG of `width` x `height`: a parcel on a gradient, with `label` on it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # a sky-to-sand gradient, so a thumbnail shows something
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=(int(90 + 140 * t), int(150 + 70 * t), int(230 - 90 * t)))
    w, h = width // 2, height // 2
    box = (width // 4, height // 3, width // 4 + w, height // 3 + h)
    draw.rectangle(box, fill=(196, 142, 84), outline=(120, 80, 40), width=max(2, width // 160))
    draw.line(
        [(box[0], box[1] + h // 3), (box[2], box[1] + h // 3)], fill=(150, 100, 55), width=max(2, h // 20)
    )
    draw.text((box[0] + w // 10, box[1] + h // 2), label, fill=(40, 25, 10))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG of random pixels, `side` x `side`: it does not compress (about 3 bytes a pixel)."""
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    """A one-page PDF (Pillow writes it)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (420, 594), "white")
    ImageDraw.Draw(image).text((40, 40), "Invoice 1042", fill="black")
    out = io.BytesIO()
    image.save(out, "PDF")
    return out.getvalue()


def payload(name: str, mime: str, data: bytes) -> dict:
    """A file for Playwright's set_files / set_input_files."""
    return {"name": name, "mimeType": mime, "buffer": data}


async def choose(page, name: str, mime: str, data: bytes) -> None:
    """Click the paperclip and pick the file in the chooser it opens."""
    async with page.expect_file_chooser() as chooser:
        await page.click("#attach-button")
    await (await chooser.value).set_files(payload(name, mime, data))


# A DataTransfer holding one file, made from base64, dispatched as a
# drag-and-drop on `zone` (dragenter, dragover, then drop) or a paste into
# `field`. Returns whether the zone was highlighted while the file was over it.
_FILE = """
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
"""
DROP = f"""async ([selector, b64, name, type]) => {{
  {_FILE}
  const zone = document.querySelector(selector);
  const init = {{ dataTransfer: transfer, bubbles: true, cancelable: true }};
  zone.dispatchEvent(new DragEvent("dragenter", init));
  zone.dispatchEvent(new DragEvent("dragover", init));
  const hint = zone.querySelector(".drop-hint");
  const highlighted = zone.classList.contains("drop-active") && getComputedStyle(hint).display !== "none";
  zone.dispatchEvent(new DragEvent("drop", init));
  return highlighted && !zone.classList.contains("drop-active");
}}"""
PASTE = f"""async ([selector, b64, name, type]) => {{
  {_FILE}
  const field = document.querySelector(selector);
  field.focus();
  const event = new ClipboardEvent("paste", {{ clipboardData: transfer, bubbles: true, cancelable: true }});
  field.dispatchEvent(event);
  return event.defaultPrevented;
}}"""


async def drop(page, selector: str, name: str, mime: str, data: bytes) -> bool:
    """Drop the file on `selector`; True if it was highlighted while dragged over, and not after."""
    return await page.evaluate(DROP, [selector, base64.b64encode(data).decode(), name, mime])


async def paste(page, selector: str, name: str, mime: str, data: bytes) -> bool:
    """Paste the file into `selector`; True if the page took it (the paste's default was prevented)."""
    return await page.evaluate(PASTE, [selector, base64.b64encode(data).decode(), name, mime])


async def image_loaded(locator) -> int:
    """The natural width of the <img> at `locator`, once it has loaded (0 if it fails to)."""
    await expect(locator).to_be_visible()
    handle = await locator.element_handle()
    await locator.page.wait_for_function("img => img.complete", arg=handle)
    return await locator.evaluate("img => img.naturalWidth")
