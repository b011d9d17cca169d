"""Scratch 1.4's media library (Debian's scratch, media CC-BY-SA-3.0, MIT): people and things on
photographed scenes.

The library's costumes are mostly drawn, but about a hundred are photographs cut out on a
transparent background: 22 people (several poses of most: dancing, jumping, sitting, ...), a few
animals, things and vehicles. Its backgrounds are mostly photographs of places (beach, brick wall,
mural, stadium, railway, kitchen, ...). The catalogue keeps the photographs only (drawn costumes
and backgrounds are left out) and gives each word-level concepts.

Each image is a cut-out (the main object) pasted onto a random square crop of a scene of the SAME
split (mirrored, colour-jittered), a quarter of the time with a second, smaller cut-out of the
same split beside it. The scenes are objects too: split by object like the cut-outs, so a test
image shows a test cut-out on a test scene, and the image's concepts are those of both (and of
the second cut-out). Pair queries (eval/queries/scratch_complex.txt) join a cut-out's concept and
a scene's.

  scripts/real_photos.py --set scratch --src <unpacked>/usr/share/scratch/Media \
      --out data/real_photos_scratch
"""

from __future__ import annotations

import random
from pathlib import Path

from . import common
from .common import Obj, Render

NAME = "scratch"
DEFAULT_VARIANTS = 20   # images per cut-out object (its poses in turn), each on another scene
CUTOUT = {"object": True, "scene": False}
SECOND_OBJECT_P = 0.25

# Cut-outs: path (under Media) | concepts (first = primary; split by it) | group (photos of one
# and the same person or thing) | description (the words a user might add).
OBJECTS = """
Costumes/People/amon1.gif | man,person,dancer | amon | amon kicking
Costumes/People/anjuli-1.gif | woman,person | anjuli | anjuli surprised
Costumes/People/anjuli-2.gif | woman,person | anjuli | anjuli dancing
Costumes/People/anjuli-3.gif | woman,person | anjuli | anjuli dancing
Costumes/People/anjuli-4.gif | woman,person | anjuli | anjuli dancing
Costumes/People/anjuli-5.gif | woman,person | anjuli | anjuli dancing
Costumes/People/anna-1.gif | girl,person | anna | anna smiling
Costumes/People/anna-2.gif | girl,person | anna | anna jumping
Costumes/People/anna-3.gif | girl,person | anna | anna cheering
Costumes/People/breakdancer1.gif | man,person,dancer | breakdancer | breakdance handstand
Costumes/People/breakdancer2.gif | man,person,dancer | breakdancer | breakdance freeze
Costumes/People/breakdancer3.gif | man,person,dancer | breakdancer | breakdance moves
Costumes/People/calvrett-jumping.gif | man,person | calvrett | calvrett jumping
Costumes/People/calvrett-thinking.gif | man,person | calvrett | calvrett thinking
Costumes/People/calvrett.gif | man,person | calvrett | calvrett posing
Costumes/People/cassy-chillin.gif | woman,person | cassy | cassy chilling
Costumes/People/cassy-dancing-1.gif | woman,person | cassy | cassy dancing
Costumes/People/cassy-dancing-2.gif | woman,person | cassy | cassy dancing
Costumes/People/cassy-dancing-3.gif | woman,person | cassy | cassy dancing
Costumes/People/cassy-dancing-4.gif | woman,person | cassy | cassy dancing
Costumes/People/cassy-jumping-1.gif | woman,person | cassy | cassy jumping
Costumes/People/cassy-jumping-2.gif | woman,person | cassy | cassy jumping
Costumes/People/cassy-phone-1.gif | woman,person | cassy | cassy phone call
Costumes/People/cassy-sitting-1.gif | woman,person | cassy | cassy sitting yoga
Costumes/People/cassy-standing-1.gif | woman,person | cassy | cassy standing
Costumes/People/chamak1.gif | woman,person,dancer | chamak | indian dance
Costumes/People/chamak2.gif | woman,person,dancer | chamak | indian dance
Costumes/People/dan1.gif | man,person | dan | dan walking
Costumes/People/dan2.gif | man,person | dan | dan running
Costumes/People/dan3.gif | man,person | dan | dan kicking
Costumes/People/dan4.gif | man,person | dan | dan thinking
Costumes/People/dan5.gif | man,person | dan | dan standing
Costumes/People/dan6.gif | man,person | dan | dan dancing
Costumes/People/ed.gif | man,person | ed | ed long coat
Costumes/People/football-run.gif | man,person,football | football | football player running
Costumes/People/football-stand.gif | man,person,football | football | football player
Costumes/People/jay.gif | man,person | jay | jay beanie coat
Costumes/People/jodi1.gif | woman,person | jodi | jodi standing
Costumes/People/jodi2.gif | woman,person | jodi | jodi splits
Costumes/People/lee-fan.gif | woman,person,dancer | lee | fan dance
Costumes/People/mako-laughing.gif | man,person | mako | mako laughing
Costumes/People/mako-screaming.gif | man,person | mako | mako screaming
Costumes/People/mako-stop.gif | man,person | mako | mako stop
Costumes/People/marissa-crouching.gif | woman,person | marissa | marissa crouching
Costumes/People/marissa-sitting.gif | woman,person | marissa | marissa sitting
Costumes/People/marissa.gif | woman,person | marissa | marissa gloves
Costumes/People/nathan.gif | man,person | nathan | nathan newspaper
Costumes/People/nina1.gif | woman,person | nina | nina scarf
Costumes/People/paul1.gif | man,person | paul | paul jacket
Costumes/People/referee1.gif | man,person,referee | referee | referee
Costumes/People/referee2.gif | man,person,referee | referee | referee whistle
Costumes/People/ribbon-dancer.gif | girl,person,dancer | ribbon-dancer | ribbon dance
Costumes/People/sam.gif | boy,person | sam | sam jacket
Costumes/People/thai-dancer.gif | woman,person,dancer | thai-dancer | thai dance costume
Costumes/People/thai-dancer2.gif | woman,person,dancer | thai-dancer | thai dance costume
Costumes/Animals/bird-flying.gif | bird,animal | | pigeon flying
Costumes/Animals/buffalo1.gif | bison,animal | | buffalo
Costumes/Animals/cow1.gif | cow,animal | | white cow
Costumes/Animals/elephant.gif | elephant,animal | | elephant
Costumes/Animals/squirrel1.png | squirrel,animal | | squirrel face
Costumes/Animals/grasshopper2.gif | insect,animal | | katydid
Costumes/Animals/insect1-a.gif | insect,animal,ant | ant | red ant
Costumes/Animals/insect1-b.gif | insect,animal,ant | ant | red ant
Costumes/Animals/insect2.gif | insect,animal,ant | | ant carrying larva
Costumes/Things/cheesy-puffs.gif | food,snack | | cheesy puffs bowl
Costumes/Things/fortune_cookie.gif | food,cookie | | fortune cookie
Costumes/Things/fruit_platter.gif | food,fruit | | fruit platter
Costumes/Things/hair1.gif | wig,hair | | red wig
Costumes/Things/hair2.gif | wig,hair | | black afro wig
Costumes/Things/flower-vase.gif | flower,vase | | bouquet roses
Costumes/Things/fire-hydrant.gif | hydrant | | fire hydrant
Costumes/Things/lamp.gif | lamp | | table lamp
Costumes/Things/lego.gif | toy,lego | | duplo brick
Costumes/Things/manhole.png | manhole | | manhole cover
Costumes/Things/marble-building.gif | building,marble | | marble chapel
Costumes/Things/palmtree.gif | tree,palm | | palm tree
Costumes/Things/scoreboard.gif | scoreboard | | scoreboard
Costumes/Things/tennisball.png | ball,tennis | | tennis ball
Costumes/Things/trampoline.gif | trampoline | | trampoline
Costumes/Things/umbrella.gif | umbrella | | beach umbrella
Costumes/Transportation/airplane.gif | plane,vehicle | | airplane jet
Costumes/Transportation/bike.gif | bicycle,vehicle | | bike
Costumes/Transportation/bus.gif | bus,vehicle | | city bus
Costumes/Transportation/car-blue.gif | car,vehicle | | blue mini
Costumes/Transportation/car-bug.gif | car,vehicle | | green beetle
Costumes/Transportation/car-cow.gif | car,vehicle | | cow painted car
Costumes/Transportation/street-cleaner-mit.png | vehicle | | street cleaner machine
Costumes/Transportation/train.gif | train,vehicle | | freight train
Costumes/Transportation/sail-boat.gif | boat,vehicle | | sailing schooner
Costumes/Transportation/tug-boat.gif | boat,vehicle | | tug boat
Costumes/Transportation/yacht.gif | boat,vehicle | | yacht cruise
"""

# Scenes: the photographed backgrounds, same format.
SCENES = """
Backgrounds/Indoors/chalkboard.jpg | indoor,stage,curtain | | classroom stage
Backgrounds/Indoors/clothing-store.jpg | indoor,store,clothes | | clothing store
Backgrounds/Indoors/hall.jpg | indoor,hall | | office hallway
Backgrounds/Indoors/kitchen.jpg | indoor,kitchen | | kitchen
Backgrounds/Indoors/the-movies-inside.jpg | indoor,cinema | | movie theater lobby
Backgrounds/Nature/beach-malibu.jpg | sea,beach,sand | | malibu beach
Backgrounds/Nature/hill.jpg | sea,hill,coast | | coast hill
Backgrounds/Outdoors/bench-with-view.jpg | sea,bench | | bench view
Backgrounds/Outdoors/boardwalk.jpg | sea,boardwalk | | boardwalk
Backgrounds/Nature/wave.jpg | sea,wave,surf | | big wave
Backgrounds/Nature/canyon.jpg | desert,hill | | dry trail
Backgrounds/Nature/gravel-desert.jpg | desert,road | | gravel desert
Backgrounds/Nature/grand-canyon.jpg | canyon,cliff | | grand canyon
Backgrounds/Nature/flower-bed.jpg | flower,garden | | flower bed
Backgrounds/Nature/flowers.gif | flower | | zinnias
Backgrounds/Nature/forest.jpg | tree,forest | | birch forest
Backgrounds/Nature/tree.jpg | tree,garden | | old tree
Backgrounds/Nature/pathway.jpg | garden,path | | garden pathway
Backgrounds/Nature/garden-rock.jpg | garden,rock,grass | | garden rock
Backgrounds/Nature/lake.jpg | water,lake,tree | | lake
Backgrounds/Nature/water-and-rocks.jpg | water,stream,rock | | stream rocks
Backgrounds/Outdoors/pool.jpg | water,pool | | swimming pool
Backgrounds/Nature/moon.jpg | moon | | lunar surface
Backgrounds/Outdoors/all-sports-mural.jpg | mural,park | | sports mural
Backgrounds/Outdoors/berkeley-mural.jpg | mural,street | | berkeley mural
Backgrounds/Outdoors/graffiti.jpg | mural,graffiti | | graffiti
Backgrounds/Outdoors/mural-faro.jpg | mural,graffiti | | faro mural
Backgrounds/Outdoors/atom-playground.jpg | playground | | playground
Backgrounds/Outdoors/brick-wall-and-stairs.jpg | wall,brick,stairs | | brick wall stairs
Backgrounds/Outdoors/brick-wall1.jpg | wall,brick | | brick wall
Backgrounds/Outdoors/brick-wall2.jpg | wall,brick,grass | | brick wall
Backgrounds/Outdoors/building-at-mit.jpg | building,lawn | | mit building
Backgrounds/Outdoors/building-fireproof.jpg | building,brick | | fireproof building
Backgrounds/Outdoors/mansion.jpg | building,mansion | | mansion
Backgrounds/Outdoors/the-movies.jpg | building,cinema | | movie theater
Backgrounds/Outdoors/driveway.jpg | building,palace,park | | palace driveway
Backgrounds/Outdoors/castle.jpg | castle | | castle
Backgrounds/Outdoors/city-with-water.jpg | city,river,night | | city skyline night
Backgrounds/Outdoors/city-with-water2.jpg | city,river | | city skyline
Backgrounds/Outdoors/hallway_outdoors.jpg | arcade,columns | | arcade
Backgrounds/Outdoors/hay_field.jpg | field,hay,farm | | hay bales
Backgrounds/Sports/playing-field.jpg | field,grass,soccer | | playing field
Backgrounds/Sports/baseball-field.jpg | stadium,baseball | | baseball field
Backgrounds/Sports/football-field.jpg | stadium,football | | football stadium
Backgrounds/Sports/basketball-court1-a.jpg | court,basketball | basketball-court | basketball court
Backgrounds/Sports/basketball-court1-b.jpg | court,basketball | basketball-court | basketball court
Backgrounds/Sports/tennis-backboard.jpg | court,tennis | | tennis court
Backgrounds/Outdoors/houses.jpg | house,shack | | shacks
Backgrounds/Outdoors/village.jpg | house,village | | village
Backgrounds/Outdoors/wooden-house.jpg | house,wood | | wooden house
Backgrounds/Outdoors/parking-ramp.jpg | parking,garage | | parking garage
Backgrounds/Outdoors/route66.jpg | road,highway | | route 66
Backgrounds/Outdoors/silos.jpg | silo,farm | | silos
Backgrounds/Outdoors/train-tracks1.jpg | railway,tracks,mountain | | train tracks
Backgrounds/Outdoors/train-tracks2.jpg | railway,tracks | | train tracks
"""

# Words a caption may use for a concept (the concept itself first).
SYNONYMS = {
    "person": ["person", "people", "portrait", "selfie"],
    "man": ["man", "guy", "dude", "men"],
    "woman": ["woman", "lady", "girlfriend", "women"],
    "girl": ["girl", "kid", "daughter", "girls"],
    "boy": ["boy", "kid", "son", "boys"],
    "dancer": ["dancer", "dance", "dancing", "dancers"],
    "animal": ["animal", "animals", "wildlife", "nature"],
    "insect": ["insect", "bug", "bugs", "macro"],
    "bird": ["bird", "birds", "pigeon"],
    "vehicle": ["vehicle", "ride", "wheels"],
    "car": ["car", "cars", "auto", "ride"],
    "boat": ["boat", "ship", "sailing", "boats"],
    "plane": ["plane", "airplane", "aircraft", "flight"],
    "bicycle": ["bicycle", "bike", "cycling"],
    "food": ["food", "foodie", "yummy", "snack", "delicious"],
    "wig": ["wig", "hairstyle", "hair"],
    "sea": ["sea", "ocean", "coast", "seaside"],
    "beach": ["beach", "sand", "shore"],
    "desert": ["desert", "dry", "arid"],
    "flower": ["flower", "flowers", "bloom", "floral"],
    "tree": ["tree", "trees", "woods"],
    "garden": ["garden", "gardening", "yard"],
    "water": ["water", "waterfront"],
    "mural": ["mural", "streetart", "graffiti", "art"],
    "wall": ["wall", "bricks", "brickwall"],
    "building": ["building", "architecture", "buildings"],
    "city": ["city", "skyline", "downtown", "cityscape"],
    "field": ["field", "meadow", "countryside"],
    "stadium": ["stadium", "arena", "game"],
    "court": ["court", "hoops", "sport"],
    "house": ["house", "home", "houses"],
    "railway": ["railway", "railroad", "tracks", "train"],
    "indoor": ["indoor", "indoors", "inside", "interior"],
    "road": ["road", "highway", "roadtrip"],
}
FILLER_EXTRA = ["ootd", "streetstyle", "travel", "explore", "outdoors", "vibes"]


def load(src: Path) -> list[Obj]:
    return (common.parse_catalogue(OBJECTS, src, kind="object")
            + common.parse_catalogue(SCENES, src, kind="scene"))


def input_files(src: Path) -> list[tuple[str, Path]]:
    return ([(rel, src / rel) for rel in common.catalogue_paths(OBJECTS)]
            + [(rel, src / rel) for rel in common.catalogue_paths(SCENES)])


def mains(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o.kind == "object"]


def scene_crop(im, rng: random.Random):
    """A square crop of the scene, from the bottom part (where the ground is) more often."""
    side = min(im.size) * rng.uniform(0.7, 1.0)
    x = rng.uniform(0, im.width - side)
    y = (im.height - side) * rng.uniform(0.3, 1.0)
    im = im.crop((round(x), round(y), round(x + side), round(y + side)))
    if rng.random() < 0.5:
        im = im.transpose(common.Image.FLIP_LEFT_RIGHT)
    im = im.resize((common.SIZE, common.SIZE), common.Image.BICUBIC)
    return common.jitter(im, rng)


def paste(canvas, o: Obj, k: int, rng: random.Random, frac: float, cx: float) -> None:
    person = "person" in o.concepts
    if person:
        # people stand on the ground: scaled by height, feet in the lower part
        common.place(canvas, o.images[k], rng, frac, (cx, rng.uniform(0.55, 0.62)), tilt=4,
                     by_height=True)
    else:
        common.place(canvas, o.images[k], rng, frac * 0.9, (cx, rng.uniform(0.45, 0.65)), tilt=8)


def render(o: Obj, v: int, rng: random.Random, ctx: common.Context) -> Render:
    k = v % len(o.sources)
    scenes = ctx.pool(o.split, "scene")
    if not scenes:
        raise SystemExit(f"scratch: no scene in the {o.split} split")
    scene = rng.choice(scenes)
    ks = rng.randrange(len(scene.images))
    canvas = scene_crop(scene.images[ks], rng)
    present = [(o, k)]
    second = None
    if rng.random() < SECOND_OBJECT_P:
        pool = [p for p in ctx.pool(o.split) if p.concepts[0] != o.concepts[0]]
        if pool:
            second = rng.choice(pool)
    if second is not None:
        left = rng.random() < 0.5
        k2 = rng.randrange(len(second.images))
        paste(canvas, second, k2, rng, rng.uniform(0.35, 0.5), 0.22 if left else 0.78)
        paste(canvas, o, k, rng, rng.uniform(0.6, 0.8), 0.62 if left else 0.38)
        present.append((second, k2))
    else:
        paste(canvas, o, k, rng, rng.uniform(0.6, 0.9), rng.uniform(0.35, 0.65))
    present.append((scene, ks))
    return Render(canvas, present)
