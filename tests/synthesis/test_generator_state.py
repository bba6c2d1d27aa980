"""Fitted generators saved as arrays + JSON (no pickles) and loaded back; sample() without a seed."""

import json

import numpy as np
import pandas as pd
import pytest

from syntwin.synthesis.generators import GaussianCopulaGenerator, Generator, make_generator

from .conftest import ROLES


@pytest.mark.parametrize("name", ["latent_class", "independent"])
def test_save_load_samples_identically(table, tmp_path, name):
    gen = make_generator(name).fit(table, **ROLES, seed=5)
    path = gen.save(tmp_path / "model")
    assert path.suffix == ".npz"
    np.load(path, allow_pickle=False)  # readable without unpickling anything
    loaded = Generator.load(path)
    assert type(loaded) is type(gen) and repr(loaded) == repr(gen)
    pd.testing.assert_frame_equal(loaded.sample(400, seed=11), gen.sample(400, seed=11))
    assert loaded.sample(5, seed=1).dtypes.equals(table.dtypes)
    # the unseeded stream continues where the saved generator stood
    pd.testing.assert_frame_equal(loaded.sample(50), gen.sample(50))


def test_sample_without_seed_differs_between_calls_and_replays_after_refit(table):
    a = make_generator("latent_class", n_components=4).fit(table, **ROLES, seed=2)
    b = make_generator("latent_class", n_components=4).fit(table, **ROLES, seed=2)
    first, second = a.sample(100), a.sample(100)
    assert not first.equals(second)
    pd.testing.assert_frame_equal(first, b.sample(100))


def test_load_refuses_other_classes(table, tmp_path):
    path = make_generator("independent").fit(table, **ROLES).save(tmp_path / "m.npz")
    archive = dict(np.load(path, allow_pickle=False))
    header = json.loads(bytes(archive["__header__"]).decode())
    header["class"] = "os:system"
    archive["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    forged = tmp_path / "forged.npz"
    np.savez(forged, **archive)
    with pytest.raises(ValueError, match="refusing to rebuild 'os:system'"):
        Generator.load(forged)


def test_unfitted_and_unsaveable_generators_say_so(table, tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        make_generator("latent_class").save(tmp_path / "x")
    pytest.importorskip("sdv")
    gen = GaussianCopulaGenerator().fit(table, **ROLES)
    with pytest.raises(TypeError, match="without pickling"):
        gen.save(tmp_path / "sdv")


def test_a_generator_without_its_own_constructor_has_no_parameters():
    """get_params/repr/make_generator must not read ``*args``/``**kwargs`` of ``object.__init__`` as parameters."""
    from syntwin.synthesis.generators import Generator, make_generator

    class Plain(Generator):
        def _fit(self, codes, df, seed):
            pass

        def _sample(self, n, seed):
            return {}

    assert Plain().get_params() == {} and repr(Plain()) == "Plain()"
    assert isinstance(make_generator(Plain), Plain)
