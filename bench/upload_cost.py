"""What one upload costs the server: checking, cleaning and storing it.

    python -m bench.upload_cost [--rounds 5]

On a fresh copy of the migrated database, with files stored in a temporary
folder, times `chat.services.uploads.attachment_upload` (the whole of what
`POST /api/uploads/` does past parsing the request: the kind told by
content, an image decoded, re-encoded without metadata and thumbnailed,
the files stored and the row made) for typical uploads, and prints the
median wall-clock and CPU time of each over `--rounds`.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import time

from bench import local_django


def _photo(size: tuple[int, int]) -> bytes:
    """A JPEG that compresses like a photo: smooth gradients with noise."""
    from PIL import Image, ImageFilter

    rng = random.Random(1)
    small = Image.new("RGB", (size[0] // 16, size[1] // 16))
    small.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(small.width * small.height)
        ]
    )
    image = small.resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(size, 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(image, noise, 0.15).save(out, "JPEG", quality=92)
    return out.getvalue()


def _screenshot(size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (245, 247, 250))
    draw = ImageDraw.Draw(image)
    for y in range(0, size[1], 24):
        draw.text((20, y), "Order #1042 - parcel damaged in transit, see photo " * 3, fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work, _db, _agents = local_django.setup("upload-cost-")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chat.services.uploads import attachment_upload
    from customers.models import Customer

    customer = Customer.objects.create(name="Bench")
    cases = {
        "photo 4000x3000 JPEG": ("photo.jpg", _photo((4000, 3000))),
        "screenshot 2560x1440 PNG": ("screen.png", _screenshot((2560, 1440))),
        "PDF": ("manual.pdf", b"%PDF-1.7\n" + os.urandom(9 * 1024 * 1024)),
        "text": ("log.txt", ("2026-12-03 13:00:00 INFO request handled\n" * 200_000).encode()),
    }
    for label, (name, data) in cases.items():
        walls, cpus = [], []
        for _ in range(args.rounds):
            upload = SimpleUploadedFile(name, data)
            wall, cpu = time.perf_counter(), time.process_time()
            attachment_upload(upload=upload, customer_id=customer.id, agent_id=None)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(
            f"{label:26} {len(data) / 1e6:5.1f} MB: {statistics.median(walls) * 1e3:7.1f} ms"
            f" (CPU {statistics.median(cpus) * 1e3:.1f} ms)"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
