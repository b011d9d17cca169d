"""webly's real-photo evaluation sets: one module per source package, shared machinery in common.

Each source module (tuxpaint, scratch, stellarium, wallpapers) defines:
  NAME, DEFAULT_VARIANTS, SYNONYMS, FILLER_EXTRA
  load(src) -> list[Obj]                 the catalogue, checked against the unpacked package
  input_files(src) -> list[(rel, Path)]  what the fingerprint hashes
  mains(objects) -> list[Obj]            the objects that get images (the others only appear
                                         beside them)
  render(obj, v, rng, ctx) -> Render     one image of `obj` (variant v)
and may define split_key(obj) (default: the primary concept) and variants_of(obj, variants).
"""

SETS = ("tuxpaint", "scratch", "stellarium", "wallpapers")
