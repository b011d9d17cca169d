"""Tux Paint's photo stamps (Debian's tuxpaint-stamps-default, GPL-2): the original real-photo set.

The package ships a few hundred photographs of single objects cut out on a transparent
background (animals, fruit, vegetables, flowers, tools, coins, vehicles, ...), each with an English
description. The catalogue keeps the photographs (the drawn clip-art stamps are left out) and gives
each word-level concepts. Each object is composited onto varied synthetic backgrounds (scale,
position, tilt, mirror, brightness), about a third of the time with a second, smaller object of
the SAME split beside it; birds, insects, flowers, fruit and vegetables get one more often, from a
companion concept, so that pair queries (eval/queries/real_complex.txt) have relevant images.

  scripts/real_photos.py --stamps <unpacked>/usr/share/tuxpaint/stamps --out data/real_photos
"""

from __future__ import annotations

import random
from pathlib import Path

from . import common
from .common import Obj, Render

NAME = "tuxpaint"
DEFAULT_VARIANTS = 6
CUTOUT = {"object": True}
# Probability that an image gets a second object of the same split, and that this second object
# is the primary concept's companion (the pairs of eval/queries/real_complex.txt). Objects with a
# companion get a second object more often.
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
FILLER_EXTRA: list[str] = []
# As the set was first built: the second object is named by its primary concept only, and
# description words by their letters only.
OTHER_FINER_P = 0.0
DESCRIPTION_DIGITS = False


def describe(path: Path) -> str:
    """The stamp's English description (the first line of the .txt beside it)."""
    desc_path = path.with_suffix(".txt")
    if desc_path.is_file():
        return desc_path.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip()
    return ""


def load(src: Path) -> list[Obj]:
    return common.parse_catalogue(CATALOGUE, src, describe=describe)


def input_files(src: Path) -> list[tuple[str, Path]]:
    return [(rel, src / rel) for rel in common.catalogue_paths(CATALOGUE)]


def mains(objects: list[Obj]) -> list[Obj]:
    return objects


def render(o: Obj, v: int, rng: random.Random, ctx: common.Context) -> Render:
    src = v % len(o.sources)
    canvas = common.synthetic_background(rng)
    second = None
    companions = COMPANIONS.get(o.concepts[0], [])
    if rng.random() < (SECOND_OBJECT_COMPANION_P if companions else SECOND_OBJECT_P):
        pool = []
        if companions:
            pool = ctx.pool(o.split, concept=rng.choice(companions))
        if not pool or rng.random() >= COMPANION_P:
            pool = ctx.pool(o.split)
        pool = [p for p in pool if p.concepts[0] != o.concepts[0]]
        if pool:
            second = rng.choice(pool)
    present = [(o, src)]
    if second is not None:
        left = rng.random() < 0.5
        k = rng.randrange(len(second.images))
        common.place(canvas, second.images[k], rng, rng.uniform(0.3, 0.45),
                     (0.22 if left else 0.78, rng.uniform(0.25, 0.75)))
        common.place(canvas, o.images[src], rng, rng.uniform(0.5, 0.7),
                     (0.62 if left else 0.38, rng.uniform(0.4, 0.6)))
        present.append((second, k))
    else:
        common.place(canvas, o.images[src], rng, rng.uniform(0.55, 0.92),
                     (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)))
    return Render(canvas, present)
