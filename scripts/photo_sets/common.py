"""Shared machinery of the real-photo sets: catalogue parsing, the split by object, compositing
and cropping, Instagram-like captions, writing an InstaCities1M-style dataset, the fingerprint
that makes a second run a no-op, and the contact sheet.

Every set is written as

  <out>/img_resized_1M/cities_instagram/<city>/<id>.jpg      300x300 JPEG
  <out>/captions_resized_1M/cities_instagram/<city>/<id>.txt one caption line, Instagram-like noise
  <out>/ground_truth.tsv   city/id<TAB>concept,concept,...   (the true label, for webly's eval)
  <out>/split.tsv          split<TAB>city/id                 (train/val/test, BY OBJECT)
  <out>/objects.tsv        object<TAB>split<TAB>concepts<TAB>source file<TAB>description
  <out>/contact_sheet.jpg  the first image of every object, for a look
  <out>/.fingerprint       hash of the inputs, the code and the options

The split is by object: every image of an object, and every object shown beside it, lies in the
object's split, so no test object is ever seen in training. Everything is deterministic given the
seed. The output is written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

SIZE = 300  # InstaCities1M images are 300x300
JPEG_QUALITY = 90
CITIES = [
    "london", "newyork", "sydney", "losangeles", "chicago",
    "melbourne", "miami", "toronto", "singapore", "sanfrancisco",
]
SPLITS = ("train", "val", "test")
# Object split fractions (of the objects of each split key, at least one test object and at
# least one train object per key with two objects or more).
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
# Caption noise.
LABEL_MISSING_P = 0.15   # the caption names neither the concept nor a synonym
WRONG_WORD_P = 0.10      # the caption names a concept that is not in the image
SECOND_MENTION_P = 0.7   # another object of the image is named in the caption
CONCEPT_WORD_P = 0.5     # a concept is named by its own word (else by a synonym)
FILLER = [
    "love", "instagood", "photooftheday", "beautiful", "happy", "today", "weekend", "nofilter",
    "cute", "amazing", "fun", "picoftheday", "instadaily", "follow", "life", "nice", "summer",
    "friends", "sunday", "best", "look", "wow", "new", "great", "day", "me", "my", "so", "the",
    "with", "at", "in", "and", "lol", "omg", "finally", "home", "morning",
]
EMOJI = ["\u2764\ufe0f", "\U0001f60d", "\U0001f44c", "\u2728", "\U0001f525", "\U0001f4f7"]
DESCRIPTION_STOP = {"a", "an", "the", "of", "and", "or", "in", "its", "is", "it", "to", "very",
                    "one", "our", "from", "called", "also", "this", "that", "some", "two", "pair"}


def log(msg: str) -> None:
    print(f"[real-photos] {msg}", file=sys.stderr)


@dataclass
class Obj:
    name: str          # object id (its group)
    sources: list      # (path relative to the package folder, description) of each photo
    concepts: list     # first = primary
    kind: str = "object"   # a source may use others, e.g. "scene" for backgrounds
    split: str = ""
    images: list = field(default_factory=list)  # the loaded photos, one per source


@dataclass
class Render:
    image: Image.Image
    present: list      # (Obj, source index) of everything shown; the main object first


def parse_catalogue(text: str, root: Path, kind: str = "object",
                    describe: Callable[[Path], str] | None = None) -> list[Obj]:
    """Objects from a catalogue: one photo a line, `path | concepts [| group [| description]]`
    (concepts comma-separated, the first the primary one; photos of one and the same thing share
    a group, hence a split). Paths are relative to `root`; errors name the catalogue line."""
    objects: dict[str, Obj] = {}
    for lineno, raw in enumerate(text.strip().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) not in (2, 3, 4) or not parts[0] or not parts[1]:
            sys.exit(f"catalogue line {lineno}: expected `path | concepts [| group [| desc]]`: "
                     f"{raw!r}")
        rel, concepts = parts[0], [c.strip() for c in parts[1].split(",") if c.strip()]
        group = parts[2] if len(parts) >= 3 and parts[2] else Path(rel).with_suffix("").as_posix()
        path = root / rel
        if not path.is_file():
            sys.exit(f"catalogue line {lineno}: {path} is missing (wrong package version?)")
        desc = parts[3] if len(parts) == 4 else (describe(path) if describe else "")
        obj = objects.get(group)
        if obj is None:
            objects[group] = Obj(group, [(rel, desc)], concepts, kind)
        elif obj.concepts != concepts:
            sys.exit(f"catalogue line {lineno}: group {group} has concepts {obj.concepts}")
        else:
            obj.sources.append((rel, desc))
    return list(objects.values())


def catalogue_paths(text: str) -> list[str]:
    return [line.split("|")[0].strip() for line in text.strip().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def split_by_object(objects: list[Obj], seed: int,
                    key: Callable[[Obj], str] = lambda o: o.concepts[0]) -> None:
    """Per split key (by default the primary concept): objects shuffled by seed, ~20% test (at
    least one when the key has two objects or more), ~10% val (from five objects on), the rest
    train. A lone object is placed by a hash of its name."""
    by_key: dict[str, list[Obj]] = {}
    for o in objects:
        # objects of the default kind keep the bare key (the tuxpaint set's split is unchanged)
        by_key.setdefault(key(o) if o.kind == "object" else f"{o.kind}/{key(o)}", []).append(o)
    for k in sorted(by_key):
        objs = sorted(by_key[k], key=lambda o: o.name)
        random.Random(f"{seed}/split/{k}").shuffle(objs)
        n = len(objs)
        if n == 1:
            h = int(hashlib.sha256(f"{seed}/{objs[0].name}".encode()).hexdigest(), 16) % 10
            objs[0].split = "test" if h < 2 else ("val" if h < 3 else "train")
            continue
        n_test = max(1, round(n * TEST_FRACTION))
        n_val = round(n * VAL_FRACTION) if n >= 5 else 0
        for i, o in enumerate(objs):
            o.split = "test" if i < n_test else ("val" if i < n_test + n_val else "train")


# --- images -----------------------------------------------------------------------------------

def load_rgba(path: Path) -> Image.Image:
    """A cut-out photo (transparent background), cropped to its visible pixels."""
    im = Image.open(path)
    im.load()
    im = im.convert("RGBA")
    bbox = im.getchannel("A").getbbox()
    return im.crop(bbox) if bbox else im


def load_rgb(path: Path) -> Image.Image:
    """A full-frame photo; a transparent part is laid on black."""
    im = Image.open(path)
    im.load()
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        black = Image.new("RGBA", im.size, (0, 0, 0, 255))
        black.alpha_composite(im)
        im = black
    return im.convert("RGB")


def synthetic_background(rng: random.Random) -> Image.Image:
    """A varied 300x300 background: plain, gradient, two-tone horizon, or soft texture."""
    def colour():
        return tuple(rng.randrange(30, 240) for _ in range(3))
    kind = rng.choice(["plain", "gradient", "horizon", "texture"])
    if kind == "plain":
        return Image.new("RGB", (SIZE, SIZE), colour())
    a, b = np.array(colour(), np.float32), np.array(colour(), np.float32)
    if kind in ("gradient", "horizon"):
        t = np.linspace(0.0, 1.0, SIZE, dtype=np.float32)[:, None, None]
        if kind == "horizon":
            cut = rng.uniform(0.4, 0.75)
            t = 1.0 / (1.0 + np.exp(-(t - cut) * 60.0))
        arr = a * (1 - t) + b * t
        arr = np.broadcast_to(arr, (SIZE, SIZE, 3))
        if rng.random() < 0.5:
            arr = arr.transpose(1, 0, 2)
    else:
        nrng = np.random.default_rng(rng.randrange(2**32))
        small = nrng.random((rng.choice([4, 8, 16]),) * 2, dtype=np.float32)
        noise = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize(
            (SIZE, SIZE), Image.BICUBIC), np.float32)[:, :, None] / 255.0
        arr = a * (1 - noise) + b * noise
    arr = arr + np.random.default_rng(rng.randrange(2**32)).normal(0, 4, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def place(canvas: Image.Image, obj: Image.Image, rng: random.Random, frac: float,
          centre: tuple[float, float], tilt: float = 12.0, by_height: bool = False) -> None:
    """Pastes the cut-out `obj` scaled so its longer side (or its height, with by_height) is
    `frac` of the canvas, around `centre` (fractions of the canvas), mirrored half of the time,
    tilted by up to `tilt` degrees, its brightness varied."""
    if rng.random() < 0.5:
        obj = obj.transpose(Image.FLIP_LEFT_RIGHT)
    if tilt:
        obj = obj.rotate(rng.uniform(-tilt, tilt), resample=Image.BICUBIC, expand=True)
    bbox = obj.getchannel("A").getbbox()
    if bbox:
        obj = obj.crop(bbox)
    scale = frac * SIZE / (obj.height if by_height else max(obj.size))
    scale = min(scale, 0.98 * SIZE / max(obj.size))  # never wider than the canvas
    w, h = max(1, round(obj.width * scale)), max(1, round(obj.height * scale))
    obj = obj.resize((w, h), Image.LANCZOS)
    rgb = ImageEnhance.Brightness(obj.convert("RGB")).enhance(rng.uniform(0.8, 1.2))
    alpha = obj.getchannel("A").filter(ImageFilter.GaussianBlur(0.6))
    x = int(min(max(centre[0] * SIZE - w / 2, 0), SIZE - w))
    y = int(min(max(centre[1] * SIZE - h / 2, 0), SIZE - h))
    canvas.paste(rgb, (x, y), alpha)


def jitter(im: Image.Image, rng: random.Random, strength: float = 1.0) -> Image.Image:
    """Brightness, contrast and colour varied a little."""
    im = ImageEnhance.Brightness(im).enhance(1 + rng.uniform(-0.15, 0.15) * strength)
    im = ImageEnhance.Contrast(im).enhance(1 + rng.uniform(-0.15, 0.2) * strength)
    return ImageEnhance.Color(im).enhance(1 + rng.uniform(-0.2, 0.2) * strength)


# --- captions ---------------------------------------------------------------------------------

def description_words(desc: str, digits: bool = True) -> list[str]:
    """The words of a description, lower case; without `digits`, letters only (9th -> th)."""
    words = []
    for w in desc.replace("\u2014", " ").replace("-", " ").replace("_", " ").split():
        w = "".join(c for c in w.lower() if c.isalpha() or (digits and c.isdigit()))
        if len(w) > 1 and w not in DESCRIPTION_STOP and not w.isdigit():
            words.append(w)
    return words


class Captioner:
    """One Instagram-like caption line from the true label: the concept by its own word or a
    synonym, the photo's description words, the other objects of the image, the city, filler
    words, hashtags, emoji; sometimes no label word, sometimes a wrong one."""

    def __init__(self, synonyms: dict, all_concepts: list[str], filler_extra: list[str] = (),
                 other_finer_p: float = 0.25, digits: bool = True):
        self.synonyms = synonyms
        self.all_concepts = all_concepts
        self.filler = FILLER + list(filler_extra)
        self.other_finer_p = other_finer_p  # another object's finer concept is named too
        self.digits = digits  # description words keep their digits (m31, route66)

    def word(self, concept: str, rng: random.Random, hashtag: bool) -> str:
        """The concept's own word half of the time, else one of its synonyms (itself included)."""
        synonyms = self.synonyms.get(concept, [concept])
        word = concept if rng.random() < CONCEPT_WORD_P else rng.choice(synonyms)
        return f"#{word}" if hashtag else word

    def caption(self, rng: random.Random, present: list, city: str) -> str:
        (obj, src), others = present[0], present[1:]
        parts: list[str] = []
        if rng.random() >= LABEL_MISSING_P:
            # the primary concept, maybe also the finer ones, as words and hashtags
            for c in obj.concepts:
                if c == obj.concepts[0] or rng.random() < 0.7:
                    parts.append(self.word(c, rng, hashtag=rng.random() < 0.4))
                    if rng.random() < 0.35:
                        parts.append(self.word(c, rng, hashtag=True))
        if rng.random() < 0.6:
            # the user names the thing more precisely (the photo's description)
            words = description_words(obj.sources[src][1], self.digits)
            parts.extend(w for w in words if rng.random() < 0.7)
        for other, _ in others:
            if rng.random() < SECOND_MENTION_P:
                parts.append(self.word(other.concepts[0], rng, hashtag=rng.random() < 0.5))
                for c in other.concepts[1:] if self.other_finer_p > 0 else []:
                    if rng.random() < self.other_finer_p:
                        parts.append(self.word(c, rng, hashtag=rng.random() < 0.5))
        if rng.random() < WRONG_WORD_P:
            present_concepts = {c for o, _ in present for c in o.concepts}
            wrong = [c for c in self.all_concepts if c not in present_concepts]
            if wrong:
                parts.append(self.word(rng.choice(wrong), rng, hashtag=rng.random() < 0.5))
        if rng.random() < 0.6:
            parts.append(f"#{city}" if rng.random() < 0.6 else city)
        parts.extend(rng.sample(self.filler, rng.randrange(1, 6)))
        rng.shuffle(parts)
        tags = [f"#{w}" for w in rng.sample(self.filler, rng.randrange(0, 4))]
        if rng.random() < 0.4:
            tags.append(rng.choice(EMOJI))
        text = " ".join(parts + tags)
        return text[:1].upper() + text[1:] if rng.random() < 0.5 else text


# --- writing ----------------------------------------------------------------------------------

def media_id(seed: int, name: str, variant: int) -> str:
    """A 19-digit id like Instagram's media ids, stable for (seed, object, variant)."""
    h = int(hashlib.sha256(f"{seed}/{name}/{variant}".encode()).hexdigest(), 16)
    return str(10**18 + h % (9 * 10**18))


class Context:
    """What a source's render() may draw from: the objects by split, kind and concept."""

    def __init__(self, objects: list[Obj]):
        self.objects = objects
        self.by_split: dict[tuple[str, str], list[Obj]] = {}
        self.by_concept: dict[tuple[str, str, str], list[Obj]] = {}
        for o in sorted(objects, key=lambda o: o.name):
            self.by_split.setdefault((o.split, o.kind), []).append(o)
            for c in o.concepts:
                self.by_concept.setdefault((o.split, o.kind, c), []).append(o)

    def pool(self, split: str, kind: str = "object", concept: str | None = None) -> list[Obj]:
        if concept is None:
            return self.by_split.get((split, kind), [])
        return self.by_concept.get((split, kind, concept), [])


def build(module, src: Path, out: Path, variants: int, seed: int) -> dict:
    objects = module.load(src)
    split_by_object(objects, seed, getattr(module, "split_key", lambda o: o.concepts[0]))
    for o in objects:
        loader = load_rgba if getattr(module, "CUTOUT", {}).get(o.kind, False) else load_rgb
        o.images = [loader(src / rel) for rel, _ in o.sources]
    ctx = Context(objects)
    all_concepts = sorted({c for o in objects for c in o.concepts})
    captioner = Captioner(module.SYNONYMS, all_concepts, getattr(module, "FILLER_EXTRA", []),
                          getattr(module, "OTHER_FINER_P", 0.25),
                          getattr(module, "DESCRIPTION_DIGITS", True))
    variants_of = getattr(module, "variants_of", lambda o, n: n)

    img_root = out / "img_resized_1M" / "cities_instagram"
    cap_root = out / "captions_resized_1M" / "cities_instagram"
    for city in CITIES:
        (img_root / city).mkdir(parents=True)
        (cap_root / city).mkdir(parents=True)
    truth, splits, firsts = [], [], []
    mains = sorted(module.mains(objects), key=lambda o: o.name)
    for o in mains:
        for v in range(variants_of(o, variants)):
            rng = random.Random(f"{seed}/{o.name}/{v}")
            city = rng.choice(CITIES)
            key = f"{city}/{media_id(seed, o.name, v)}"
            r = module.render(o, v, rng, ctx)
            for p, _ in r.present:
                if p.split != o.split:
                    sys.exit(f"{module.NAME}: {p.name} ({p.split}) shown with {o.name} ({o.split})")
            r.image.convert("RGB").save(img_root / f"{key}.jpg", "JPEG", quality=JPEG_QUALITY)
            text = captioner.caption(rng, r.present, city)
            (cap_root / f"{key}.txt").write_text(text + "\n", encoding="utf-8")
            concepts = list(dict.fromkeys(c for p, _ in r.present for c in p.concepts))
            truth.append(f"{key}\t{','.join(concepts)}")
            splits.append(f"{o.split}\t{key}")
            if v == 0:
                firsts.append(r.image)
    (out / "ground_truth.tsv").write_text("\n".join(truth) + "\n", encoding="utf-8")
    (out / "split.tsv").write_text(
        f"# split<TAB>city/id, by object (scripts/photo_sets/{module.NAME}.py)\n"
        + "\n".join(splits) + "\n", encoding="utf-8")
    rows = ["object\tsplit\tconcepts\tsource\tdescription"]
    for o in sorted(objects, key=lambda o: o.name):
        for rel, desc in o.sources:
            rows.append(f"{o.name}\t{o.split}\t{','.join(o.concepts)}\t{rel}\t{desc}")
    (out / "objects.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    contact_sheet(firsts, out / "contact_sheet.jpg")
    return summary(objects, mains, len(truth))


def contact_sheet(images: list[Image.Image], path: Path, thumb: int = 75, cols: int = 20) -> None:
    rows = max(1, math.ceil(len(images) / cols))
    sheet = Image.new("RGB", (cols * thumb, rows * thumb), (255, 255, 255))
    for i, im in enumerate(images):
        sheet.paste(im.convert("RGB").resize((thumb, thumb), Image.BILINEAR),
                    ((i % cols) * thumb, (i // cols) * thumb))
    sheet.save(path, "JPEG", quality=80)


def summary(objects: list[Obj], mains: list[Obj], images: int) -> dict:
    s = {"objects": len(objects), "photos": sum(len(o.sources) for o in objects),
         "images": images}
    for sp in SPLITS:
        s[f"{sp}_objects"] = sum(o.split == sp for o in objects)
    s["primary_concepts"] = len({o.concepts[0] for o in mains})
    return s


def fingerprint(module, src: Path, variants: int, seed: int) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(Path(module.__file__).read_bytes())
    h.update(f"{variants}/{seed}/{np.__version__}/{Image.__version__}".encode())
    for rel, path in module.input_files(src):
        h.update(rel.encode())
        h.update(path.read_bytes() if path.is_file() else b"missing")
    return h.hexdigest()


def run(module, src: Path, out: Path, variants: int, seed: int) -> None:
    """Builds the set into `out` unless its fingerprint says it is up to date."""
    stamp_file = out / ".fingerprint"
    fp = fingerprint(module, src, variants, seed)
    if stamp_file.is_file() and stamp_file.read_text().strip() == fp:
        log(f"{out} is up to date")
        return
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    s = build(module, src, tmp, variants, seed)
    (tmp / ".fingerprint").write_text(fp + "\n")
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    log(f"wrote {out.as_posix()} ({module.NAME}): " + ", ".join(f"{k} {v}" for k, v in s.items()))
