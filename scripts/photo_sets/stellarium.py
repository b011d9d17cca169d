"""Stellarium's deep-sky photographs (Debian's stellarium-data; package GPL-2+, the images under
their authors' free terms with credit, as its copyright file lists): galaxies, star clusters and
nebulae.

The package ships 555 photographs of deep-sky objects (nebulae/default/*.png, placed on the sky
by textures.json) and the catalogue of 94,000 objects Stellarium draws (catalog.dat, binary:
position, type, morphological type, designations) with their common names (names.dat). Each photo
is matched to the catalogue object it shows (its designation in the file name when the catalogue
has it within the photo's field, else the largest object near the photo's centre); the object's
type gives its word-level concepts: galaxy (spiral, elliptical, lenticular, irregular, barred,
interacting), cluster (globular), nebula (emission, planetary, reflection, dark, bipolar,
supernova remnant; a cluster with nebulosity is both). Photos of one and the same object (the
mosaic tiles of the Magellanic Clouds, of Barnard's Loop, ...) are one object. Types with no
concept here (single stars, star clouds, sky regions) are left out.

The sky has no up: each image is the photo turned by any angle, mirrored half of the time, cropped
to a square around its centre (scale and offset varied), its brightness, contrast and colour
jittered. The split is by object, stratified by the full concept set. Pair queries
(eval/queries/stellarium_complex.txt) are the objects' own two-word kinds (spiral galaxy, globular
cluster, planetary nebula, ...).

  scripts/real_photos.py --set stellarium \
      --src <unpacked>/usr/share/stellarium/nebulae/default --out data/real_photos_stellarium
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from . import common
from .common import Obj, Render

NAME = "stellarium"
DEFAULT_VARIANTS = 3
CUTOUT = {"object": False}

SYNONYMS = {
    "galaxy": ["galaxy", "galaxies", "deepspace"],
    "spiral": ["spiral", "spiralgalaxy", "arms"],
    "elliptical": ["elliptical", "ellipticalgalaxy"],
    "lenticular": ["lenticular"],
    "irregular": ["irregular", "dwarf"],
    "barred": ["barred", "bar"],
    "interacting": ["interacting", "merger", "collision"],
    "cluster": ["cluster", "starcluster", "clusters"],
    "open": ["open", "opencluster"],
    "globular": ["globular", "globularcluster"],
    "nebula": ["nebula", "nebulae", "gas"],
    "emission": ["emission", "hydrogen", "halpha"],
    "planetary": ["planetary", "planetarynebula"],
    "reflection": ["reflection", "reflectionnebula", "dust"],
    "dark": ["dark", "darknebula", "dust"],
    "bipolar": ["bipolar"],
    "supernova": ["supernova", "snr", "explosion"],
    "remnant": ["remnant", "snr"],
}
FILLER_EXTRA = ["astrophotography", "telescope", "astronomy", "deepsky", "night", "sky", "space",
                "universe", "cosmos", "longexposure", "astro"]

# Catalogue fields (Stellarium 0.22's catalog.dat, version 3.16) after the type.
_INT_IDS = ["ngc", "ic", "m", "c", "b", "sh2", "vdb", "rcw", "ldn", "lbn", "cr", "mel", "pgc",
            "ugc"]
# Designations a photo's file name may carry (prefix in the name -> catalogue field).
_FILE_IDS = [("m", "m"), ("n", "ngc"), ("ngc", "ngc"), ("ic", "ic"), ("barnard", "b"),
             ("b", "b"), ("sh2-", "sh2"), ("ldn", "ldn"), ("rcw", "rcw"), ("vdb", "vdb"),
             ("lbn", "lbn"), ("cr", "cr"), ("mel", "mel"), ("pgc", "pgc"), ("ugc", "ugc")]
# Mosaics: the tiles of one large object, matched by file name, are one object (else each tile
# would be named after whatever small object lies at its centre).
MOSAICS = [
    (r"^lmc_\d+", "lmc", ["galaxy", "irregular"], "Large Magellanic Cloud"),
    (r"^smc", "smc", ["galaxy", "irregular"], "Small Magellanic Cloud"),
    (r"^barnard_loop", "barnard-loop", ["nebula", "emission"], "Barnard's Loop"),
    (r"^rho-a\d+", "rho-ophiuchi", ["nebula"], "Rho Ophiuchi cloud complex"),
    (r"^pleiades", "m45", ["cluster", "open", "nebula", "reflection"],
     "Pleiades Seven Sisters m45"),
]
_NAME_PREFIX = {"ngc": "NGC", "ic": "IC", "m": "M", "c": "C", "b": "B", "sh2": "SH2", "vdb": "VDB",
                "rcw": "RCW", "ldn": "LDN", "lbn": "LBN", "cr": "CR", "mel": "MEL", "pgc": "PGC",
                "ugc": "UGC"}


class _Reader:
    def __init__(self, data: bytes):
        self.b, self.pos = data, 0

    def i32(self) -> int:
        v = struct.unpack_from(">i", self.b, self.pos)[0]
        self.pos += 4
        return v

    def f64(self) -> float:
        v = struct.unpack_from(">d", self.b, self.pos)[0]
        self.pos += 8
        return v

    def qstring(self) -> str:
        n = struct.unpack_from(">I", self.b, self.pos)[0]
        self.pos += 4
        if n == 0xFFFFFFFF:
            return ""
        s = self.b[self.pos:self.pos + n].decode("utf-16-be")
        self.pos += n
        return s


def read_catalog(path: Path) -> list[dict]:
    """Stellarium's DSO catalogue (QDataStream, big-endian, gzip'd), the fields needed here."""
    r = _Reader(gzip.decompress(path.read_bytes()))
    version, edition = r.qstring(), r.qstring()
    if not version.startswith("3."):
        sys.exit(f"{path}: catalogue version {version} ({edition}); expected 3.x")
    recs = []
    while r.pos < len(r.b):
        d = {"id": r.i32(), "ra": r.f64(), "dec": r.f64(), "bmag": r.f64(), "vmag": r.f64(),
             "type": r.i32(), "mtype": r.qstring(), "major": r.f64(), "minor": r.f64(),
             "orient": r.i32()}
        for _ in range(6):  # redshift, its error, parallax, its error, distance, its error
            r.f64()
        for k in _INT_IDS:
            d[k] = r.i32()
        r.qstring()  # Ced
        r.i32(), r.i32()  # Arp, VV
        for _ in range(7):  # PK, PN G, SNR G, ACO, HCG, ESO, vdBH
            r.qstring()
        for _ in range(5):  # DWB, Tr, St, Ru, vdB-Ha
            r.i32()
        recs.append(d)
    return recs


def read_names(path: Path) -> dict[str, str]:
    """Designation ("NGC 224", "M 31") -> the first proper name listed for it."""
    names: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or len(line) < 21:
            continue
        m = re.match(r'_\("(.*?)"\)', line[20:].strip())
        if not m:
            continue
        prefix, ident = line[0:5].strip(), line[5:20].strip()
        names.setdefault(f"{prefix} {ident}" if prefix else ident, m.group(1))
    return names


def read_textures(path: Path) -> list[dict]:
    """textures.json, which is JSON but for numbers like `.5` and `-.98`."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?<=[\[,\s:])(-?)\.(\d)", r"\g<1>0.\2", text)
    text = re.sub(r",(\s*[\]}])", r"\1", text)
    return json.loads(text)["subTiles"]


def galaxy_morph(mtype: str) -> tuple[str | None, bool]:
    """(spiral | elliptical | lenticular | irregular | None, barred) from a morphological type
    like SA(s)b, SB(rs)0^0, E2, cD, IBm."""
    s = re.sub(r"^\(R'?\)\s*", "", mtype.strip())
    if not s:
        return None, False
    if s[0] == "E" or s.startswith(("cD", "dE", "cE")):
        return "elliptical", False
    if s[0] == "S":
        m = re.match(r"S(AB|A|B)?\s*(\([^)]*\))?\s*(.*)", s)
        barred = m.group(1) in ("B", "AB")
        rest = m.group(3)
        if rest.startswith("0"):
            return "lenticular", barred
        if not rest or rest[0] in "abcdm":
            return "spiral", barred
        return None, False
    if s[0] == "I" or s.startswith("dI"):
        return "irregular", False
    return None, False


def concepts_for(rec: dict) -> list[str] | None:
    t = rec["type"]
    if t in (0, 1, 2, 3):  # galaxy, active, radio, interacting
        c = ["galaxy"]
        morph, barred = galaxy_morph(rec["mtype"])
        if morph:
            c.append(morph)
        if barred:
            c.append("barred")
        if t == 3:
            c.append("interacting")
        return c
    if t == 6:
        return ["cluster", "open"]
    if t in (5, 8):  # star cluster, stellar association
        return ["cluster"]
    if t == 7:
        return ["cluster", "globular"]
    if t in (10, 19, 20, 23):  # nebula, interstellar matter, emission object, molecular cloud
        return ["nebula"]
    if t in (15, 17):  # emission nebula, HII region
        return ["nebula", "emission"]
    if t in (11, 26, 27):  # planetary nebula, possible, protoplanetary
        return ["nebula", "planetary"]
    if t == 12:
        return ["nebula", "dark"]
    if t == 13:
        return ["nebula", "reflection"]
    if t == 14:
        return ["nebula", "bipolar"]
    if t == 16:  # cluster with nebulosity
        return ["nebula", "cluster"]
    if t in (18, 32):  # supernova remnant (candidate)
        return ["nebula", "supernova", "remnant"]
    return None  # stars, star clouds, regions, quasars, clusters of galaxies, unknown


def _vec(ra: float, dec: float) -> np.ndarray:
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def _file_ids(stem: str) -> list[tuple[str, int]]:
    """(catalogue field, number) designations in a photo's file name, e.g. n4038-9 -> ngc 4038."""
    s = stem.lower()
    out = []
    for prefix, fld in _FILE_IDS:
        m = re.match(rf"^{re.escape(prefix)}_?(\d+)", s)
        if m:
            out.append((fld, int(m.group(1))))
    return out


def designation(rec: dict) -> str:
    for k in ("m", "ngc", "ic", "b", "sh2", "ldn", "rcw", "vdb", "lbn", "c", "cr", "mel", "pgc",
              "ugc"):
        if rec[k] > 0:
            return f"{k}{rec[k]}"
    return f"dso{rec['id']}"


def match(src: Path) -> list[tuple[str, dict]]:
    """(photo file, catalogue object) for every photo of textures.json."""
    recs = read_catalog(src / "catalog.dat")
    pos = np.stack([_vec(r["ra"], r["dec"]) for r in recs])
    major = np.array([r["major"] for r in recs])
    out = []
    for tile in read_textures(src / "textures.json"):
        corners = np.stack([_vec(math.radians(a), math.radians(d))
                            for a, d in tile["worldCoords"][0]])
        centre = corners.mean(0)
        centre /= np.linalg.norm(centre)
        half = max(math.degrees(math.acos(min(1.0, float(c @ centre)))) for c in corners)
        ang = np.degrees(np.arccos(np.clip(pos @ centre, -1.0, 1.0)))
        near = np.where(ang < half)[0]
        chosen = None
        for fld, num in _file_ids(Path(tile["imageUrl"]).stem):
            hits = [j for j in near if recs[j][fld] == num]
            if hits:
                chosen = recs[hits[0]]
                break
        if chosen is None:
            central = np.where(ang < half * 0.6)[0]
            if len(central):
                score = major[central] / (1 + 3 * ang[central] / max(half, 1e-6))
                chosen = recs[central[int(np.argmax(score))]]
        if chosen is not None:
            out.append((tile["imageUrl"], chosen))
    return out


def load(src: Path) -> list[Obj]:
    names = read_names(src / "names.dat")
    objects: dict[str, Obj] = {}
    seen = set()
    for image, rec in match(src):
        if image in seen or not (src / image).is_file():
            continue
        seen.add(image)
        mosaic = next((m for m in MOSAICS if re.match(m[0], Path(image).stem)), None)
        if mosaic is not None:
            _, name, concepts, desc = mosaic
        else:
            concepts = concepts_for(rec)
            if concepts is None:
                continue
            ids = [f"{_NAME_PREFIX[k]} {rec[k]}" for k in _NAME_PREFIX if rec[k] > 0]
            proper = next((names[i] for i in ids if i in names), "")
            desc = " ".join([proper] + [i.replace(" ", "").lower() for i in ids[:2]]).strip()
            name = designation(rec)
        obj = objects.get(name)
        if obj is None:
            objects[name] = Obj(name, [(image, desc)], concepts)
        elif obj.concepts == concepts:
            obj.sources.append((image, desc))
        # else: a second catalogue entry of the same designation and another type; left out
    return list(objects.values())


def input_files(src: Path) -> list[tuple[str, Path]]:
    files = [(n, src / n) for n in ("textures.json", "catalog.dat", "names.dat")]
    files += [(p.name, p) for p in sorted(src.glob("*.png"))]
    return files


def split_key(o: Obj) -> str:
    return "+".join(o.concepts)


def mains(objects: list[Obj]) -> list[Obj]:
    return objects


def render(o: Obj, v: int, rng: random.Random, ctx: common.Context) -> Render:
    k = v % len(o.sources)
    im = o.images[k]
    # turned by any angle; only the inner square (no corner) is kept
    side = min(im.size)
    im = im.crop(((im.width - side) // 2, (im.height - side) // 2,
                  (im.width - side) // 2 + side, (im.height - side) // 2 + side))
    angle = rng.uniform(0, 360)
    im = im.rotate(angle, resample=Image.BICUBIC)
    inner = side / (abs(math.cos(math.radians(angle))) + abs(math.sin(math.radians(angle))))
    # a square around the centre: 65-100% of the inner square, its centre moved a little
    crop = inner * rng.uniform(0.65, 1.0)
    cx = side / 2 + rng.uniform(-0.5, 0.5) * (inner - crop)
    cy = side / 2 + rng.uniform(-0.5, 0.5) * (inner - crop)
    im = im.crop((round(cx - crop / 2), round(cy - crop / 2),
                  round(cx + crop / 2), round(cy + crop / 2)))
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = im.resize((common.SIZE, common.SIZE), Image.LANCZOS if crop > common.SIZE
                   else Image.BICUBIC)
    return Render(common.jitter(im, rng), [(o, k)])
