#!/usr/bin/env python3
"""Builds webly's real-photo evaluation set from Debian's tuxpaint-stamps-default package.

The package (GPL-2, Tux Paint's stamp collection) ships a few hundred photographs of single
objects cut out on a transparent background (animals, fruit, vegetables, flowers, tools, coins,
vehicles, ...), each with an English description. This script keeps the photographs (the drawn
clip-art stamps are left out by the catalogue below), gives each one word-level concepts, and
writes an InstaCities1M-style dataset:

  <out>/img_resized_1M/cities_instagram/<city>/<id>.jpg      300x300 JPEG
  <out>/captions_resized_1M/cities_instagram/<city>/<id>.txt one caption line, Instagram-like noise
  <out>/ground_truth.tsv   city/id<TAB>concept,concept,...   (the true label, for webly's eval)
  <out>/split.tsv          split<TAB>city/id                 (train/val/test, BY OBJECT)
  <out>/objects.tsv        object<TAB>split<TAB>concepts<TAB>source file<TAB>description
  <out>/contact_sheet.jpg  the first variant of every object, for a look

Each object is photographed once, so it is composited `--variants` times onto varied backgrounds
(scale, position, rotation, mirror, brightness), sometimes with a second, smaller object of the
SAME split beside it (so pair queries have relevant images). The split is by object: every
variant of an object, and every object pasted beside it, lies in one split, so no test object is
seen in training. Everything is deterministic given --seed. The output is written to a temporary
folder and renamed into place; a second run with the same inputs does nothing.

Usage: real_photos.py --stamps DIR --out data/real_photos [--variants 6] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

SIZE = 300  # InstaCities1M images are 300x300
JPEG_QUALITY = 90
CITIES = [
    "london", "newyork", "sydney", "losangeles", "chicago",
    "melbourne", "miami", "toronto", "singapore", "sanfrancisco",
]
# Object split fractions (of the objects of each primary concept, at least one test object and
# at least one train object per concept).
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
# Probability that a variant gets a second object of the same split, and that this second object
# is the primary concept's companion (the pairs of eval/queries/real_complex.txt).
# Objects with a companion get a second object more often.
SECOND_OBJECT_P = 0.3
SECOND_OBJECT_COMPANION_P = 0.5
COMPANION_P = 0.7
COMPANIONS = {
    "bird": ["tree", "flower"],
    "insect": ["flower"],
    "flower": ["insect", "tree"],
    "fruit": ["vegetable"],
    "vegetable": ["fruit"],
}
# Caption noise.
LABEL_MISSING_P = 0.15   # the caption names neither the concept nor a synonym
WRONG_WORD_P = 0.10      # the caption names a concept that is not in the image
SECOND_MENTION_P = 0.7   # a second object is named in the caption
CONCEPT_WORD_P = 0.5     # a concept is named by its own word (else by a synonym)

# The catalogue: source path (under usr/share/tuxpaint/stamps) | concepts (first = primary) |
# optional object group (photos of one and the same thing share a group, and so a split).
# Only photographs are listed; drawn stamps are left out.
CATALOGUE = """
animals/amphibians/frog-1.png | frog | frog
animals/amphibians/frog.png | frog | frog
animals/birds/adelaide-rosella.png | bird,parrot
animals/birds/albino_peahen.png | bird
animals/birds/blackbird.png | bird
animals/birds/chicken_profile.png | bird,chicken
animals/birds/crow.png | bird
animals/birds/crowned_crane.png | bird
animals/birds/cuckoo.png | bird
animals/birds/drake.png | bird,duck
animals/birds/duck.png | bird,duck
animals/birds/gander.png | bird
animals/birds/guineafowl.png | bird
animals/birds/helmeted_guineafowl.png | bird
animals/birds/hen.png | bird,chicken
animals/birds/heron_greatblue.png | bird | heron
animals/birds/heron_greatblue_flying.png | bird | heron
animals/birds/lark.png | bird
animals/birds/little-penguin.png | bird,penguin
animals/birds/magellanic_penguin.png | bird,penguin
animals/birds/magpie.png | bird
animals/birds/nandou.png | bird
animals/birds/ostrich.png | bird
animals/birds/owl.png | bird,owl
animals/birds/peacock.png | bird
animals/birds/pelican.png | bird
animals/birds/penguin.png | bird,penguin
animals/birds/pigeon.png | bird
animals/birds/pink_flamingo.png | bird
animals/birds/quetzal.png | bird
animals/birds/rainbow-lorikeet.png | bird,parrot
animals/birds/rooster.png | bird,chicken
animals/birds/seagull.png | bird
animals/birds/silver-gull.png | bird
animals/birds/tucan.png | bird
animals/birds/turkey.png | bird
animals/birds/vulture.png | bird
animals/fish/bluegroper.png | fish
animals/fish/butterflyfish.png | fish
animals/fish/clownfish.png | fish
animals/fish/coraltrout.png | fish
animals/fish/dolphinfish.png | fish
animals/fish/lionfish.png | fish
animals/fish/moonwrasse.png | fish
animals/fish/stripedfish.png | fish
animals/fish/lobster.png | shellfish
animals/fish/shrimp.png | shellfish
animals/shellfish/abalone.png | shellfish
animals/shellfish/murray-mussel.png | shellfish
animals/fish/seahorse.png | seahorse
animals/insects/bee.png | insect
animals/insects/fly.png | insect
animals/insects/grasshopper.png | insect
animals/insects/hornet.png | insect
animals/insects/hoverfly.png | insect
animals/insects/mantis.png | insect
animals/insects/xanthia.png | insect
animals/insects/Brown_slug.png | slug
animals/insects/Woodlouse.png | woodlouse
animals/lizards/iguana.png | lizard
animals/mammals/apes/chimp.png | monkey
animals/mammals/apes/gorilla.png | monkey
animals/mammals/apes/tamarin_emperor.png | monkey
animals/mammals/aquatic/dolphin.png | dolphin
animals/mammals/aquatic/orca.png | whale
animals/mammals/aquatic/whale.png | whale
animals/mammals/aquatic/otter.png | otter
animals/mammals/aquatic/sea_lion.png | seal
animals/mammals/badger.png | badger
animals/mammals/bears/bear.png | bear
animals/mammals/bears/european-bear.png | bear
animals/mammals/bears/toys/edward_bear.png | bear,toy
animals/mammals/bovines/bison.png | bison
animals/mammals/bovines/bull.png | cow
animals/mammals/bovines/cow.png | cow
animals/mammals/bovines/cow_white.png | cow
animals/mammals/bovines/zebu.png | cow
animals/mammals/bovines/yak.png | cow
animals/mammals/bovines/gnu-baby-stand.png | antelope | gnu-baby
animals/mammals/bovines/gnu-baby.png | antelope | gnu-baby
animals/mammals/bovines/gnu-sitting.png | antelope
animals/mammals/bovines/gnu-stand.png | antelope
animals/mammals/bovines/indian_blackbuck.png | antelope
animals/mammals/bovines/goat.png | goat
animals/mammals/bovines/mountaingoat.png | goat
animals/mammals/bovines/ram.png | sheep
animals/mammals/bovines/sheep.png | sheep
animals/mammals/bovines/sheep_lamb.png | sheep
animals/mammals/camel/camel.png | camel
animals/mammals/camel/dromedary.png | camel
animals/mammals/cats/lion-2.png | lion
animals/mammals/cats/lion.png | lion
animals/mammals/cats/tiger.png | tiger
animals/mammals/cats/tiger_sumatran.png | tiger
animals/mammals/deer/caribou.png | deer
animals/mammals/deer/deer.png | deer
animals/mammals/deer/doe.png | deer
animals/mammals/deer/wapiti.png | deer
animals/mammals/dogs/dingo.png | dog
animals/mammals/dogs/dog.png | dog
animals/mammals/dogs/fox.png | fox
animals/mammals/echidna.png | echidna
animals/mammals/elephant.png | elephant
animals/mammals/equines/donkey.png | donkey | donkey
animals/mammals/equines/donkey_eating.png | donkey | donkey
animals/mammals/equines/horse.png | horse
animals/mammals/equines/zebra.png | zebra
animals/mammals/ferret.png | ferret
animals/mammals/giraffe.png | giraffe
animals/mammals/hippopotamus.png | hippo
animals/mammals/pig.png | pig
animals/mammals/pig_golden.png | pig | tamworth
animals/mammals/pig_golden2.png | pig | tamworth
animals/mammals/rabbit_little.png | rabbit
animals/mammals/rodents/rabbit-2.png | rabbit
animals/mammals/rodents/rabbit.png | rabbit
animals/mammals/rhino_black.png | rhino
animals/mammals/rodents/beaver.png | rodent
animals/mammals/rodents/capybara.png | rodent
animals/mammals/rodents/marmot.png | rodent
animals/mammals/rodents/mouse.png | rodent
animals/mammals/rodents/rat.png | rodent
animals/mammals/rodents/squirrel.png | rodent
animals/mammals/wildboar.png | pig
animals/marsupials/kangaroo.png | kangaroo
animals/marsupials/koala.png | koala
animals/marsupials/wombat.png | wombat
food/fruit/Apricot_whole.png | fruit | apricot
food/fruit/apricot.png | fruit | apricot
food/fruit/Cherry_Stella.png | fruit
food/fruit/Strawberry2.png | fruit,strawberry
food/fruit/strawberry.png | fruit,strawberry
food/fruit/apple_fuji.png | fruit,apple
food/fruit/apple_granny_smith.png | fruit,apple
food/fruit/apple_green.png | fruit,apple
food/fruit/apple_red.png | fruit,apple
food/fruit/apple_sierra_beauty.png | fruit,apple
food/fruit/avocado.png | fruit
food/fruit/banana.png | fruit
food/fruit/cherimoya.png | fruit
food/fruit/grapes.png | fruit
food/fruit/kiwi.png | fruit
food/fruit/lemon.png | fruit
food/fruit/mandarine.png | fruit,orange
food/fruit/mango.png | fruit
food/fruit/orange.png | fruit,orange
food/fruit/orange_seville.png | fruit,orange
food/fruit/pear.png | fruit
food/fruit/pineapple.png | fruit
food/fruit/pomegranate.png | fruit
food/fruit/raspberry.png | fruit
food/fruit/sliced_lime.png | fruit
food/fruit/sliced_orange.png | fruit,orange
plants/trees/rambutan.png | fruit
food/nuts/almond.png | nut
food/nuts/pecan.png | nut
food/nuts/walnut.png | nut | walnut
food/nuts/walnut_shelled.png | nut | walnut
food/spices/ginger.png | vegetable
food/vegetables/broccoli.png | vegetable
food/vegetables/carrot.png | vegetable
food/vegetables/chilepepper.png | vegetable,pepper
food/vegetables/corn.png | vegetable
food/vegetables/eggplant.png | vegetable
food/vegetables/garlic.png | vegetable | garlic
food/vegetables/garlics.png | vegetable | garlic
food/vegetables/lettuce.png | vegetable
food/vegetables/onion.png | vegetable
food/vegetables/pattypan_squash.png | vegetable
food/vegetables/pepper.png | vegetable,pepper
food/vegetables/potato.png | vegetable
food/vegetables/pumpkin_small.png | vegetable
food/vegetables/redlettuce.png | vegetable
food/vegetables/tomato.png | vegetable
food/vegetables/yam.png | vegetable
food/vegetables/yellowpepper.png | vegetable,pepper
food/vegetables/mushroom.png | mushroom
plants/mushrooms/cep-1.png | mushroom
plants/mushrooms/cep-2.png | mushroom
plants/mushrooms/cep.png | mushroom
hobbies/binoculars.png | binoculars
hobbies/camera_35mm.png | camera
hobbies/music/brass/trumpet.png | instrument
hobbies/music/percussion/cymbal_crash.png | instrument
hobbies/music/percussion/drum_tomtom_floor.png | instrument,drum
hobbies/music/percussion/drumkit.png | instrument,drum
hobbies/music/string/cello.png | instrument
hobbies/music/string/guitar2.png | instrument,guitar
hobbies/music/string/guitar_classical.png | instrument,guitar
hobbies/music/string/guitar_electric.png | instrument,guitar
hobbies/music/string/guitar_electric_bass.png | instrument,guitar
hobbies/music/string/violin.png | instrument
hobbies/music/wind/bassoon.png | instrument
household/Lightbulb.png | lightbulb
household/arttools/highlighter.png | pen
household/arttools/pen_dryerase.png | pen
household/arttools/scissors_small_closed.png | scissors | scissors
household/arttools/scissors_small_open.png | scissors | scissors
household/cylinder.png | cylinder
household/dishes/glass.png | glass
household/dishes/mug.png | mug
household/dishes/pitcher_small.png | jug
household/dishes/teapot.png | teapot
household/dishes/utensils/nutcracker.png | nutcracker
household/dishes/utensils/pepper_grinder.png | grinder
household/garbagecan.png | trash
household/home_compost_bin.png | trash
household/wheelie_bin.png | trash
household/kettle.png | kettle
household/key.png | key
household/rubberduck.png | toy,duck
household/toilet.png | toilet
household/tools/cementmixer.png | mixer
household/tools/hammer.png | tool,hammer
household/tools/mallet_metal.png | tool,hammer
household/tools/measuring_tape.png | tool
household/tools/paintbrush_large.png | tool
household/tools/plyers.png | tool
household/tools/saw.png | tool
household/tools/spade.png | tool
household/tools/toolbox.png | tool
household/tools/wrench.png | tool,wrench
household/tools/wrench_adjustable.png | tool,wrench
household/tools/wrench_plumbers.png | tool,wrench
medical/bandage_adhesive.png | bandage
medical/mercurythermometer.png | thermometer
medical/stethoscope.png | stethoscope
medical/syringe.png | syringe
military/ammunition/old_naval_shell.png | shell
military/vehicles/bradley.png | tank
military/vehicles/infantry-stryker.png | tank
military/vehicles/ww2_german_gun.png | tank
military/vehicles/f22_raptor.png | plane
vehicles/flight/planes/747.png | plane
people/fireman200b.png | firefighter
people/fireman240a.png | firefighter
military/paratrooper.png | parachute
naturalforces/fire.png | fire
naturalforces/explosion.png | smoke
people/toys/grannysmith.png | doll,toy
seasonal/christmas/German_Christmas_toy.png | toy
plants/eggplant.png | plant
plants/lavender.png | plant
plants/lettuce_bolted.png | plant
plants/thyme.png | plant
plants/flowers/adeenia.png | flower
plants/flowers/anemone_red.png | flower
plants/flowers/anthoorium.png | flower
plants/flowers/appooppanthady.png | flower
plants/flowers/bolsom.png | flower
plants/flowers/chemparathi.png | flower
plants/flowers/daffodil.png | flower
plants/flowers/flower1.png | flower
plants/flowers/flower10.png | flower
plants/flowers/flower2.png | flower
plants/flowers/flower3.png | flower
plants/flowers/flower4.png | flower
plants/flowers/flower5.png | flower
plants/flowers/flower6.png | flower
plants/flowers/flower7.png | flower
plants/flowers/flower8.png | flower
plants/flowers/flower9.png | flower
plants/flowers/iris.png | flower
plants/flowers/marigold.png | flower
plants/flowers/pigface.png | flower
plants/flowers/plastic/chuvanna_plastic_poo.png | flower
plants/flowers/red-gazania.png | flower
plants/flowers/rose.png | flower,rose
plants/flowers/whitestar-petunia.png | flower
plants/flowers/yellow-flower.png | flower
plants/trees/birch.png | tree
plants/trees/holm_oak.png | tree
plants/trees/liberia-palm.png | tree
plants/trees/tree336.png | tree
seasonal/christmas/Christmas_Tree_photo.png | tree,christmas
plants/trees/holly_leaves.png | holly
plants/trees/pinecone.png | pinecone
seasonal/candle.png | candle
seasonal/christmas/Candy_cane_photo_1.png | candy | candycane
seasonal/christmas/Candy_cane_photo_2.png | candy | candycane
seasonal/christmas/Christmas_pudding.png | pudding,christmas
seasonal/christmas/Mince_Pie.png | pie
seasonal/christmas/Roast_turkey.png | turkey,roast
seasonal/christmas/xmaswreath.png | wreath,christmas
seasonal/halloween/grave-a.png | gravestone
seasonal/halloween/grave-b.png | gravestone
seasonal/halloween/grave-c.png | gravestone
seasonal/halloween/grave-d.png | gravestone
seasonal/halloween/grave-e.png | gravestone
seasonal/halloween/grave-f.png | gravestone
seasonal/halloween/grave-g.png | gravestone
seasonal/halloween/grave-h.png | gravestone
seasonal/halloween/grave-i.png | gravestone
seasonal/halloween/grave-j.png | gravestone
space/apollo_lander.png | spacecraft
space/voyager2.png | spacecraft
space/spacewalk.png | astronaut
space/moon/moon_3qt.png | moon | moon
space/moon/moon_crescent.png | moon | moon
space/moon/moon_full.png | moon | moon
space/planets/0_sun.png | sun
space/planets/1_mercury.png | planet
space/planets/2_venus.png | planet
space/planets/3_earth.png | planet,earth
space/planets/4_mars.png | planet
space/planets/5_jupiter.png | planet
space/planets/6_saturn.png | planet
space/planets/7_uranus.png | planet
space/planets/8_neptune.png | planet
space/planets/9_pluto.png | planet
sports/australian_rules_football.png | ball,football
sports/basketball.png | ball,basketball
sports/cricketball.png | ball,cricket
sports/football.png | ball,football
sports/soccer.png | ball,soccer
sports/tennis_ball.png | ball,tennis
sports/tennis_racket.png | racket,tennis
sports/trophy_cup.png | trophy
town/monuments/inukshuk-photo.png | stones
town/roadsigns/traffic_cone.png | cone
town/uk_post_box.png | mailbox
town/usps_mailbox.png | mailbox
vehicles/auto/beetle.png | car
vehicles/auto/sedan.png | car
vehicles/auto/sportscar2.png | car
vehicles/race/indycar.png | car
vehicles/auto/truck.png | truck
vehicles/emergency/firetruck.png | truck,fire
vehicles/garbagetruck.png | truck,trash
vehicles/construction/dumper.png | truck
vehicles/masstransit/green_korean_bus.png | bus
vehicles/cycle/pink_tricycle.png | tricycle
vehicles/flight/balloon360.png | balloon
vehicles/ship/chineseJunk.png | boat
vehicles/ship/walnutBoat.png | boat,toy
vehicles/wheel_tractor.png | wheel
symbols/money/canadian/coins/001penny.png | coin
symbols/money/canadian/coins/005nickel.png | coin
symbols/money/canadian/coins/010dime.png | coin
symbols/money/canadian/coins/025quarter.png | coin
symbols/money/canadian/coins/100loonie.png | coin
symbols/money/canadian/coins/200toonie.png | coin
symbols/money/euro/coins/001.png | coin
symbols/money/euro/coins/002.png | coin
symbols/money/euro/coins/005.png | coin
symbols/money/euro/coins/010.png | coin
symbols/money/euro/coins/020.png | coin
symbols/money/euro/coins/050.png | coin
symbols/money/euro/coins/100.png | coin
symbols/money/euro/coins/200.png | coin
symbols/money/japanese/yen001.png | coin
symbols/money/japanese/yen005.png | coin
symbols/money/japanese/yen010.png | coin
symbols/money/japanese/yen050.png | coin
symbols/money/japanese/yen100.png | coin
symbols/money/japanese/yen500.png | coin
symbols/money/us/coins/001penny.png | coin
symbols/money/us/coins/005nickel.png | coin
symbols/money/us/coins/010dime.png | coin
symbols/money/us/coins/025quarter.png | coin
symbols/money/us/coins/050kennedy-halfdollar.png | coin
symbols/money/us/coins/100sacagawea.png | coin
"""

# Words a caption may use for a concept (the concept itself first). Concepts not listed here are
# named by themselves only.
SYNONYMS = {
    "bird": ["bird", "birds", "birding", "birdwatching", "birdlife", "feathers"],
    "fish": ["fish", "fishes", "reef", "aquarium", "underwater"],
    "shellfish": ["shellfish", "seafood"],
    "insect": ["insect", "insects", "bug", "bugs", "entomology"],
    "monkey": ["monkey", "ape", "primate", "primates"],
    "bear": ["bear", "bears"],
    "cow": ["cow", "cows", "cattle", "moo"],
    "antelope": ["antelope", "gnu", "wildebeest"],
    "sheep": ["sheep", "lamb", "wool"],
    "deer": ["deer", "stag", "antlers"],
    "rabbit": ["rabbit", "bunny", "rabbits", "bunnies"],
    "rodent": ["rodent", "rodents"],
    "pig": ["pig", "pigs", "piggy", "boar"],
    "dog": ["dog", "dogs", "puppy", "doggy"],
    "fruit": ["fruit", "fruits", "fresh", "healthy"],
    "apple": ["apple", "apples"],
    "orange": ["orange", "oranges", "citrus"],
    "vegetable": ["vegetable", "vegetables", "veggies", "veg", "garden"],
    "mushroom": ["mushroom", "mushrooms", "fungi", "foraging"],
    "nut": ["nut", "nuts"],
    "instrument": ["instrument", "music", "musician", "band"],
    "guitar": ["guitar", "guitars", "guitarist"],
    "drum": ["drum", "drums", "drummer"],
    "tool": ["tool", "tools", "workshop", "diy"],
    "flower": ["flower", "flowers", "bloom", "blossom", "floral"],
    "plant": ["plant", "plants", "herb", "herbs"],
    "tree": ["tree", "trees", "forest", "woods"],
    "gravestone": ["gravestone", "cemetery", "graveyard", "tombstone", "headstone"],
    "planet": ["planet", "planets", "astronomy", "space"],
    "ball": ["ball", "balls", "sport", "sports"],
    "car": ["car", "cars", "auto", "drive"],
    "truck": ["truck", "trucks", "lorry"],
    "coin": ["coin", "coins", "money", "cash", "change"],
    "trash": ["trash", "garbage", "bin", "rubbish"],
    "toy": ["toy", "toys"],
}
FILLER = [
    "love", "instagood", "photooftheday", "beautiful", "happy", "today", "weekend", "nofilter",
    "cute", "amazing", "fun", "picoftheday", "instadaily", "follow", "life", "nice", "summer",
    "friends", "sunday", "best", "look", "wow", "new", "great", "day", "me", "my", "so", "the",
    "with", "at", "in", "and", "lol", "omg", "finally", "home", "morning",
]
EMOJI = ["\u2764\ufe0f", "\U0001f60d", "\U0001f44c", "\u2728", "\U0001f525", "\U0001f4f7"]
DESCRIPTION_STOP = {"a", "an", "the", "of", "and", "or", "in", "its", "is", "it", "to", "very",
                    "one", "our", "from", "called", "also", "this", "that", "some", "two", "pair"}


@dataclass
class Obj:
    name: str          # object id (its group)
    sources: list      # (path, description) of each photo of the object
    concepts: list     # first = primary
    split: str = ""
    rgba: list = field(default_factory=list)


def parse_catalogue(stamps: Path) -> list[Obj]:
    """Objects from CATALOGUE, grouped; errors name the catalogue line."""
    objects: dict[str, Obj] = {}
    for lineno, raw in enumerate(CATALOGUE.strip().splitlines(), 1):
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            sys.exit(f"catalogue line {lineno}: expected `path | concepts [| group]`: {raw!r}")
        rel, concepts = parts[0], [c.strip() for c in parts[1].split(",") if c.strip()]
        group = parts[2] if len(parts) == 3 else Path(rel).with_suffix("").as_posix()
        path = stamps / rel
        if not path.is_file():
            sys.exit(f"catalogue line {lineno}: {path} is missing (wrong package version?)")
        desc_path = path.with_suffix(".txt")
        desc = ""
        if desc_path.is_file():
            desc = desc_path.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip()
        obj = objects.get(group)
        if obj is None:
            objects[group] = Obj(group, [(rel, desc)], concepts)
        elif obj.concepts != concepts:
            sys.exit(f"catalogue line {lineno}: group {group} has concepts {obj.concepts}")
        else:
            obj.sources.append((rel, desc))
    return list(objects.values())


def split_by_object(objects: list[Obj], seed: int) -> None:
    """Per primary concept: objects shuffled by seed, ~20% test (at least one when the concept has
    two or more objects), ~10% val (from five objects on), the rest train."""
    by_concept: dict[str, list[Obj]] = {}
    for o in objects:
        by_concept.setdefault(o.concepts[0], []).append(o)
    for concept in sorted(by_concept):
        objs = sorted(by_concept[concept], key=lambda o: o.name)
        random.Random(f"{seed}/split/{concept}").shuffle(objs)
        n = len(objs)
        if n == 1:
            # a lone object: a distractor, placed by a hash of its name
            h = int(hashlib.sha256(f"{seed}/{objs[0].name}".encode()).hexdigest(), 16) % 10
            objs[0].split = "test" if h < 2 else ("val" if h < 3 else "train")
            continue
        n_test = max(1, round(n * TEST_FRACTION))
        n_val = round(n * VAL_FRACTION) if n >= 5 else 0
        for i, o in enumerate(objs):
            o.split = "test" if i < n_test else ("val" if i < n_test + n_val else "train")


def load_rgba(stamps: Path, rel: str) -> Image.Image:
    im = Image.open(stamps / rel)
    im.load()
    im = im.convert("RGBA")
    bbox = im.getchannel("A").getbbox()
    return im.crop(bbox) if bbox else im


def background(rng: random.Random) -> Image.Image:
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
          centre: tuple[float, float]) -> None:
    """Pastes `obj` scaled so its longer side is `frac` of the canvas, around `centre`."""
    if rng.random() < 0.5:
        obj = obj.transpose(Image.FLIP_LEFT_RIGHT)
    obj = obj.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC, expand=True)
    bbox = obj.getchannel("A").getbbox()
    if bbox:
        obj = obj.crop(bbox)
    scale = frac * SIZE / max(obj.size)
    w, h = max(1, round(obj.width * scale)), max(1, round(obj.height * scale))
    obj = obj.resize((w, h), Image.LANCZOS)
    rgb = ImageEnhance.Brightness(obj.convert("RGB")).enhance(rng.uniform(0.8, 1.2))
    alpha = obj.getchannel("A").filter(ImageFilter.GaussianBlur(0.6))
    x = int(min(max(centre[0] * SIZE - w / 2, 0), SIZE - w))
    y = int(min(max(centre[1] * SIZE - h / 2, 0), SIZE - h))
    canvas.paste(rgb, (x, y), alpha)


def description_words(desc: str) -> list[str]:
    words = []
    for w in desc.replace("\u2014", " ").replace("-", " ").split():
        w = "".join(c for c in w.lower() if c.isalpha())
        if len(w) > 1 and w not in DESCRIPTION_STOP:
            words.append(w)
    return words


def concept_words(concept: str, rng: random.Random, hashtag: bool) -> str:
    """The concept's own word half of the time, else one of its synonyms (itself included)."""
    synonyms = SYNONYMS.get(concept, [concept])
    word = concept if rng.random() < CONCEPT_WORD_P else rng.choice(synonyms)
    return f"#{word}" if hashtag else word


def caption(rng: random.Random, obj: Obj, desc: str, second: Obj | None, city: str,
            all_concepts: list[str]) -> str:
    parts: list[str] = []
    missing = rng.random() < LABEL_MISSING_P
    if not missing:
        # the primary concept, maybe also its finer concept, as words and hashtags
        for c in obj.concepts:
            if c == obj.concepts[0] or rng.random() < 0.7:
                parts.append(concept_words(c, rng, hashtag=rng.random() < 0.4))
                if rng.random() < 0.35:
                    parts.append(concept_words(c, rng, hashtag=True))
    if rng.random() < 0.6:
        # the user names the thing more precisely (the stamp's English description)
        parts.extend(w for w in description_words(desc) if rng.random() < 0.7)
    if second is not None and rng.random() < SECOND_MENTION_P:
        parts.append(concept_words(second.concepts[0], rng, hashtag=rng.random() < 0.5))
    if rng.random() < WRONG_WORD_P:
        present = set(obj.concepts) | (set(second.concepts) if second else set())
        wrong = [c for c in all_concepts if c not in present]
        parts.append(concept_words(rng.choice(wrong), rng, hashtag=rng.random() < 0.5))
    if rng.random() < 0.6:
        parts.append(f"#{city}" if rng.random() < 0.6 else city)
    parts.extend(rng.sample(FILLER, rng.randrange(1, 6)))
    rng.shuffle(parts)
    tags = [f"#{w}" for w in rng.sample(FILLER, rng.randrange(0, 4))]
    if rng.random() < 0.4:
        tags.append(rng.choice(EMOJI))
    text = " ".join(parts + tags)
    return text[:1].upper() + text[1:] if rng.random() < 0.5 else text


def media_id(seed: int, name: str, variant: int) -> str:
    """A 19-digit id like Instagram's media ids, stable for (seed, object, variant)."""
    h = int(hashlib.sha256(f"{seed}/{name}/{variant}".encode()).hexdigest(), 16)
    return str(10**18 + h % (9 * 10**18))


def build(stamps: Path, out: Path, variants: int, seed: int) -> dict:
    objects = parse_catalogue(stamps)
    split_by_object(objects, seed)
    for o in objects:
        o.rgba = [load_rgba(stamps, rel) for rel, _ in o.sources]
    all_concepts = sorted({c for o in objects for c in o.concepts})
    by_split_concept: dict[tuple[str, str], list[Obj]] = {}
    for o in objects:
        for c in o.concepts:
            by_split_concept.setdefault((o.split, c), []).append(o)
    by_split: dict[str, list[Obj]] = {}
    for o in objects:
        by_split.setdefault(o.split, []).append(o)

    img_root = out / "img_resized_1M" / "cities_instagram"
    cap_root = out / "captions_resized_1M" / "cities_instagram"
    for city in CITIES:
        (img_root / city).mkdir(parents=True)
        (cap_root / city).mkdir(parents=True)
    truth, splits, firsts = [], [], []
    for o in sorted(objects, key=lambda o: o.name):
        for v in range(variants):
            rng = random.Random(f"{seed}/{o.name}/{v}")
            city = rng.choice(CITIES)
            key = f"{city}/{media_id(seed, o.name, v)}"
            src = v % len(o.sources)
            canvas = background(rng)
            second = None
            companions = COMPANIONS.get(o.concepts[0], [])
            if rng.random() < (SECOND_OBJECT_COMPANION_P if companions else SECOND_OBJECT_P):
                pool = []
                if companions:
                    pool = by_split_concept.get((o.split, rng.choice(companions)), [])
                if not pool or rng.random() >= COMPANION_P:
                    pool = by_split[o.split]
                pool = [p for p in pool if p.concepts[0] != o.concepts[0]]
                if pool:
                    second = rng.choice(sorted(pool, key=lambda p: p.name))
            if second is not None:
                left = rng.random() < 0.5
                place(canvas, rng.choice(second.rgba), rng, rng.uniform(0.3, 0.45),
                      (0.22 if left else 0.78, rng.uniform(0.25, 0.75)))
                place(canvas, o.rgba[src], rng, rng.uniform(0.5, 0.7),
                      (0.62 if left else 0.38, rng.uniform(0.4, 0.6)))
            else:
                place(canvas, o.rgba[src], rng, rng.uniform(0.55, 0.92),
                      (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)))
            canvas.save(img_root / f"{key}.jpg", "JPEG", quality=JPEG_QUALITY)
            text = caption(rng, o, o.sources[src][1], second, city, all_concepts)
            (cap_root / f"{key}.txt").write_text(text + "\n", encoding="utf-8")
            concepts = list(dict.fromkeys(o.concepts + (second.concepts if second else [])))
            truth.append(f"{key}\t{','.join(concepts)}")
            splits.append(f"{o.split}\t{key}")
            if v == 0:
                firsts.append(canvas)
    (out / "ground_truth.tsv").write_text("\n".join(truth) + "\n", encoding="utf-8")
    (out / "split.tsv").write_text(
        "# split<TAB>city/id, by object (scripts/real_photos.py)\n" + "\n".join(splits) + "\n",
        encoding="utf-8")
    rows = ["object\tsplit\tconcepts\tsource\tdescription"]
    for o in sorted(objects, key=lambda o: o.name):
        for rel, desc in o.sources:
            rows.append(f"{o.name}\t{o.split}\t{','.join(o.concepts)}\t{rel}\t{desc}")
    (out / "objects.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    contact_sheet(firsts, out / "contact_sheet.jpg")
    return summary(objects, variants)


def contact_sheet(images: list[Image.Image], path: Path, thumb: int = 75, cols: int = 20) -> None:
    rows = math.ceil(len(images) / cols)
    sheet = Image.new("RGB", (cols * thumb, rows * thumb), (255, 255, 255))
    for i, im in enumerate(images):
        sheet.paste(im.resize((thumb, thumb), Image.BILINEAR),
                    ((i % cols) * thumb, (i // cols) * thumb))
    sheet.save(path, "JPEG", quality=80)


def summary(objects: list[Obj], variants: int) -> dict:
    s = {"objects": len(objects), "photos": sum(len(o.sources) for o in objects),
         "images": len(objects) * variants}
    for sp in ("train", "val", "test"):
        s[f"{sp}_objects"] = sum(o.split == sp for o in objects)
    s["primary_concepts"] = len({o.concepts[0] for o in objects})
    return s


def fingerprint(stamps: Path, variants: int, seed: int) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(f"{variants}/{seed}/{np.__version__}/{Image.__version__}".encode())
    for line in CATALOGUE.strip().splitlines():
        rel = line.split("|")[0].strip()
        p = stamps / rel
        h.update(rel.encode())
        h.update(p.read_bytes() if p.is_file() else b"missing")
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stamps", type=Path, required=True,
                    help="the package's stamps folder (usr/share/tuxpaint/stamps)")
    ap.add_argument("--out", type=Path, default=Path("data/real_photos"))
    ap.add_argument("--variants", type=int, default=6, help="composites per object")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.variants < 1:
        sys.exit("--variants must be at least 1")
    if not args.stamps.is_dir():
        sys.exit(f"{args.stamps}: no such folder (run scripts/real_photos_setup.sh)")
    stamp_file = args.out / ".fingerprint"
    fp = fingerprint(args.stamps, args.variants, args.seed)
    if stamp_file.is_file() and stamp_file.read_text().strip() == fp:
        print(f"[real-photos] {args.out} is up to date", file=sys.stderr)
        return
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    s = build(args.stamps, tmp, args.variants, args.seed)
    (tmp / ".fingerprint").write_text(fp + "\n")
    old = args.out.with_name(args.out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if args.out.exists():
        os.rename(args.out, old)
    os.rename(tmp, args.out)
    shutil.rmtree(old, ignore_errors=True)
    print("[real-photos] wrote " + args.out.as_posix() + ": "
          + ", ".join(f"{k} {v}" for k, v in s.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
