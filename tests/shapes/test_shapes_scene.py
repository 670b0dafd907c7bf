"""Scene model, rendering and perception: exactness on renders, totality on anything else."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from PIL import Image

from mirabench.shapes import (
    BACKGROUND_COLORS,
    KINDS,
    OBJECT_COLORS,
    SIZES,
    Change,
    Obj,
    Scene,
    agreement,
    apply,
    make_task,
    perceive,
    random_scene,
    render,
)


def test_palette_is_well_separated_and_backgrounds_never_equal_objects() -> None:
    colours = {**OBJECT_COLORS, **BACKGROUND_COLORS}
    assert len(colours) == len(OBJECT_COLORS) + len(BACKGROUND_COLORS)
    closest = min(np.linalg.norm(np.subtract(a, b)) for a, b in itertools.combinations(colours.values(), 2))
    assert closest > 70


@pytest.mark.parametrize("size", [64, 100, 256, 333])
def test_perceive_inverts_render_on_many_scenes(size: int) -> None:
    for seed in range(150):
        scene = random_scene(np.random.default_rng(seed))
        assert scene.valid() and 2 <= len(scene.objects) <= 6
        assert perceive(render(scene, size)) == scene, (size, seed)


def test_perceive_reads_every_kind_colour_and_size_at_the_smallest_size() -> None:
    for kind, color, size in itertools.product(KINDS, OBJECT_COLORS, SIZES):
        for bg in BACKGROUND_COLORS:
            scene = Scene(bg, (Obj(kind, color, size, 9, 20), Obj("square", "black", "small", 24, 6)))
            assert perceive(render(scene, 64)) == scene


def test_scene_equality_ignores_object_order_and_round_trips_json() -> None:
    a, b = Obj("circle", "red", "small", 5, 5), Obj("square", "blue", "large", 20, 20)
    assert Scene("gray", (a, b)) == Scene("gray", (b, a))
    scene = random_scene(np.random.default_rng(3))
    assert Scene.from_dict(scene.to_dict()) == scene


def test_apply_refuses_collisions_absent_objects_and_foreign_colours() -> None:
    a = Obj("circle", "red", "medium", 8, 8)
    scene = Scene("gray", (a,))
    assert apply(scene, Change("add", after=Obj("square", "blue", "small", 10, 10))) is None
    assert apply(scene, Change("remove", Obj("square", "blue", "small", 20, 20))) is None
    assert apply(scene, Change("add", after=Obj("square", "pink", "small", 20, 20))) is None  # a background
    assert apply(scene, Change("background", background="red")) is None  # an object colour
    moved = apply(scene, Change("move", a, Obj("circle", "red", "medium", 20, 8)))
    assert moved == Scene("gray", (Obj("circle", "red", "medium", 20, 8),))


@pytest.mark.parametrize("shape", [(256, 256, 3), (97, 180, 3), (300, 300, 3)])
def test_perceive_and_agreement_survive_noise_and_photos(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    gradient = np.stack([xx * 255 // shape[1], yy * 255 // shape[0], (xx + yy) % 256], -1).astype(np.uint8)
    for image in (noise, Image.fromarray(gradient), Image.new("L", shape[:2][::-1], 7)):
        scene = perceive(image)
        assert isinstance(scene, Scene)
        assert agreement(image, scene) < 0.99  # not mistaken for a render


def test_agreement_is_one_on_renders_and_tolerates_compression_noise() -> None:
    scene = random_scene(np.random.default_rng(5))
    image = render(scene)
    assert agreement(image, scene) == 1.0
    noisy = np.asarray(image).astype(int) + np.random.default_rng(0).integers(-12, 13, (256, 256, 3))
    noisy_image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    assert perceive(noisy_image) == scene
    assert agreement(noisy_image, scene) == 1.0


def test_generate_render_perceive_takes_milliseconds() -> None:
    start = time.perf_counter()
    for i in range(100):
        rng = np.random.default_rng([9, i])
        task = make_task(rng, int(rng.integers(1, 6)))
        perceive(render(task.source))
    per_task_ms = (time.perf_counter() - start) * 10
    assert per_task_ms < 50  # about 3 ms on a laptop core; generous for slow CI machines
