"""Desktop wallpapers that are photographs (Debian's mate-backgrounds, plasma-workspace-wallpapers
and lomiri-wallpapers-16.04; images under free licences, as each package's copyright file lists):
scenes and close-ups of flowers, lakes, mountains, leaves, grass, sky, forests, insects and a few
things.

The three packages ship many wallpapers that are drawn or rendered (abstract waves, low-poly
landscapes, logos); the catalogue keeps the 36 that are photographs (checked by eye) and gives each
word-level concepts, from its file name and from what it shows (the first the primary one; the
split is by it). Every photo is its own object: no two of them show one and the same thing.

  mate-backgrounds 1.26.0-1             nature/: 12 photos (flowers, leaves, grass, a ladybird, a
                                        water drop, wood, a storm over a road)
  plasma-workspace-wallpapers 5.27.5-2  11 photos (lakes and jetties, boats at sunset, a fallen
                                        leaf, a forest path, a kite, cups, moss, a facade)
  lomiri-wallpapers-16.04 20.04.0-2     13 photos (mountains, a stream, a dragonfly, dandelions,
                                        dogs at a window, a fig, brushes, a clock, ...)

A photo has an up: each image is a square crop of the photo (65-100% of its short side, its
centre moved a little), turned by a few degrees (only the part with no corner is kept), mirrored
half of the time, its brightness, contrast and colour jittered. The split is by object (every
variant of a photo in the photo's split), stratified by the primary concept. Pair queries
(eval/queries/wallpapers_complex.txt) join two concepts that one test photo shows.

  scripts/real_photos.py --set wallpapers --src <folder holding the three unpacked packages> \
      --out data/real_photos_wallpapers
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image

from . import common
from .common import Obj, Render

NAME = "wallpapers"
DEFAULT_VARIANTS = 24   # images per photo: 36 photos, 864 images
CUTOUT = {"object": False}
MAX_TURN = 8.0          # degrees, either way

# Where each package's photos lie under --src (the folder scripts/real_photos_setup.sh unpacks
# the three packages into, one sub-folder each, named by package and version).
ROOTS = {
    "mate": "mate-backgrounds-1.26.0-1/usr/share/backgrounds/mate/nature",
    "plasma": "plasma-workspace-wallpapers-5.27.5-2/usr/share/wallpapers",
    "lomiri": "lomiri-wallpapers-16.04-20.04.0-2/usr/share/backgrounds",
}

# path (under --src, {root} as in ROOTS) | concepts (first = primary; split by it) | group (the
# object: every photo is its own) | description (the words a user might add). A line ending in a
# backslash goes on on the next.
CATALOGUE = """
{mate}/Aqua.jpg | water,drop,splash | mate-aqua | water drop splash macro
{mate}/Blinds.jpg | leaf,green,plant | mate-blinds | green leaf veins
{mate}/Dune.jpg | grass,sea,sky,beach | mate-dune | dune grass by the seaside
{mate}/FreshFlower.jpg | flower,orange,petal | mate-freshflower | fresh orange gerbera
{mate}/Garden.jpg | flower,orange | mate-garden | marigold in the garden
{mate}/GreenMeadow.jpg | grass,green,field | mate-greenmeadow | green meadow
{mate}/LadyBird.jpg | insect,ladybird,flower,grass | mate-ladybird | ladybug on a stem blue flowers
{mate}/RainDrops.jpg | leaf,drop,water,green,plant | mate-raindrops | raindrops on leaves
{mate}/Storm.jpg | sky,storm,cloud,road | mate-storm | storm clouds over the highway
{mate}/TwoWings.jpg | flower,dandelion,seed | mate-twowings | two dandelion seeds
{mate}/Wood.jpg | wood | mate-wood | wooden plank texture
{mate}/YellowFlower.jpg | flower,yellow,petal | mate-yellowflower | yellow gerbera
{plasma}/BytheWater/contents/images/2560x1600.jpg | lake,pier,water,wood | plasma-bythewater | by the water jetty
{plasma}/ColdRipple/contents/images/2560x1600.jpg | lake,pier,water,fog | plasma-coldripple | cold ripple jetty mist
{plasma}/ColorfulCups/contents/images/2560x1600.jpg | cup | plasma-colorfulcups | colorful paper cups
{plasma}/DarkestHour/contents/images/2560x1600.jpg | lake,water,fog,night | plasma-darkesthour | darkest hour misty
{plasma}/EveningGlow/contents/images/2560x1600.jpg | lake,boat,water,sunset,cloud,mountain,sky \
| plasma-eveningglow | evening glow rowing boats
{plasma}/FallenLeaf/contents/images/2560x1600.jpg | leaf,autumn | plasma-fallenleaf | fallen maple leaf
{plasma}/Grey/contents/images/2560x1600.jpg | building,architecture | plasma-grey | grey facade
{plasma}/Kite/contents/images/2560x1600.jpg | sky,kite,cloud | plasma-kite | kite flying blue sky
{plasma}/OneStandsOut/contents/images/2560x1600.jpg | plant,moss,green | plasma-onestandsout | one stands out moss
{plasma}/Path/contents/images/2560x1600.jpg | forest,tree,path | plasma-path | path through the woods
{plasma}/summer_1am/contents/images/2560x1600.jpg | lake,water,sky,dusk | plasma-summer-1am | summer night 1am
{lomiri}/Bridge_by_Sander_Klootwijk.jpg | sky,bridge,beach,sea | lomiri-bridge | bridge cables over the shore
{lomiri}/Dragonfly_by_Bolly.jpg | insect,dragonfly,tree,leaf,sky | lomiri-dragonfly | dragonfly on a twig
{lomiri}/Picture_0B_by_freespace.jpg | fruit,fig,bowl | lomiri-picture-0b | fig in a red bowl
{lomiri}/Picture_1A_by_freespace.jpg | brush,paint | lomiri-picture-1a | paint brushes
{lomiri}/Wine_by_Jakkub_Mede.jpg | wine,bottle,drum,room | lomiri-wine | wine bottle and a djembe
{lomiri}/aitzgorri_by_Aitzol_Berasategi.jpg | mountain,forest,tree,grass,field,autumn \
| lomiri-aitzgorri | aitzgorri basque mountains
{lomiri}/free_by_Peter_Nerlich.jpg | bird,lamp | lomiri-free | free bird figure under lamps
{lomiri}/friends_by_Aitzol_Berasategi.jpg | dog,window,house | lomiri-friends | friends two spaniels
{lomiri}/greentock_by_Peter_Nerlich.jpg | clock | lomiri-greentock | green tock wall clock
{lomiri}/life_by_Aitzol_Berasategi.jpg | forest,stream,water,rock,tree | lomiri-life | life mountain creek
{lomiri}/picosdeeuropa_by_Aitzol_Berasategi.jpg | mountain,snow,path,sky,cloud,grass \
| lomiri-picosdeeuropa | picos de europa hiking trail
{lomiri}/seeding_by_Clements_Engelhardt.jpg | flower,dandelion,field,grass | lomiri-seeding | seeding dandelions
{lomiri}/sunset_by_Aitzol_Berasategi.jpg | mountain,sunset,sun,sky | lomiri-sunset | sunset over the hills
""".replace("\\\n", "").format(**ROOTS)

# Words a caption may use for a concept (the concept itself first).
SYNONYMS = {
    "flower": ["flower", "flowers", "bloom", "floral", "blossom"],
    "lake": ["lake", "lakeside", "lakeview"],
    "leaf": ["leaf", "leaves", "foliage"],
    "grass": ["grass", "grassy", "lawn"],
    "sky": ["sky", "skies", "skyporn"],
    "cloud": ["cloud", "clouds", "cloudy"],
    "mountain": ["mountain", "mountains", "peak", "hills"],
    "forest": ["forest", "woods", "woodland"],
    "tree": ["tree", "trees"],
    "insect": ["insect", "bug", "bugs", "macro"],
    "water": ["water", "waterfront"],
    "sea": ["sea", "ocean", "seaside"],
    "beach": ["beach", "sand", "shore"],
    "sunset": ["sunset", "sundown", "goldenhour"],
    "field": ["field", "meadow", "countryside"],
    "fog": ["fog", "mist", "misty", "foggy"],
    "pier": ["pier", "jetty", "dock"],
    "boat": ["boat", "boats", "rowing"],
    "path": ["path", "trail", "hiking"],
    "autumn": ["autumn", "fall", "autumnvibes"],
    "dandelion": ["dandelion", "dandelions"],
    "storm": ["storm", "thunderstorm", "stormy"],
    "snow": ["snow", "snowy"],
    "stream": ["stream", "creek", "river"],
    "drop": ["drop", "drops", "droplets"],
    "plant": ["plant", "plants", "greenery"],
    "dog": ["dog", "dogs", "puppy", "doggo"],
    "bird": ["bird", "birdie"],
    "fruit": ["fruit", "fruits"],
    "building": ["building", "architecture", "facade"],
}
FILLER_EXTRA = ["nature", "naturelovers", "wallpaper", "landscape", "photography", "outdoors",
                "travel", "explore", "view", "peaceful", "relax"]


def load(src: Path) -> list[Obj]:
    return common.parse_catalogue(CATALOGUE, src)


def input_files(src: Path) -> list[tuple[str, Path]]:
    return [(rel, src / rel) for rel in common.catalogue_paths(CATALOGUE)]


def mains(objects: list[Obj]) -> list[Obj]:
    return objects


def render(o: Obj, v: int, rng: random.Random, ctx: common.Context) -> Render:
    k = v % len(o.sources)
    im = o.images[k]
    # a square of 65-100% of the short side, its centre moved a little (more along the long side)
    side = min(im.size) * rng.uniform(0.65, 1.0)
    x = (im.width - side) * rng.uniform(0.2, 0.8)
    y = (im.height - side) * rng.uniform(0.2, 0.8)
    im = im.crop((round(x), round(y), round(x + side), round(y + side)))
    # turned by a few degrees; only the inner square (no corner) is kept
    angle = rng.uniform(-MAX_TURN, MAX_TURN)
    if abs(angle) > 0.5:
        im = im.rotate(angle, resample=Image.BICUBIC)
        inner = im.width / (abs(math.cos(math.radians(angle)))
                            + abs(math.sin(math.radians(angle))))
        off = (im.width - inner) / 2
        im = im.crop((round(off), round(off), round(off + inner), round(off + inner)))
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = im.resize((common.SIZE, common.SIZE), Image.LANCZOS)
    return Render(common.jitter(im, rng), [(o, k)])
