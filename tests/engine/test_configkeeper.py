"""The configuration keeper in-process: the last good config stays in service, its error is
reported until a good one is read, and a login's region is written back and applied."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine_support import CONFIG, Engine, FakeAws, seed_token
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.configkeeper import ConfigKeeper
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key

KEY = token_cache_key("corp")


async def test_a_broken_or_missing_file_keeps_the_last_good_config(
    broker: Broker, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    reads: list[None] = []
    keeper = ConfigKeeper(path, broker, before_read=lambda: reads.append(None))
    path.write_text(CONFIG)
    await keeper.reload()
    assert (keeper.error, keeper.info()["profiles"]) == (None, 2)
    loaded_at = keeper.loaded_at
    assert loaded_at is not None

    path.write_text(CONFIG + "\n[profile dev]\nregion = x\n")
    await keeper.reload()
    assert keeper.error is not None and "[profile dev] appears more than once" in keeper.error
    assert keeper.info()["profiles"] == 2 and keeper.region_of("dev") == "eu-west-1"
    assert keeper.loaded_at == loaded_at

    path.unlink()
    await keeper.reload()
    assert keeper.error == f"{path}: the file is gone; keeping the last good configuration"
    assert keeper.info()["profiles"] == 2

    path.write_text(CONFIG.replace("region = eu-west-1", "region = eu-north-1", 1))
    await keeper.reload()
    assert keeper.info()["config_error"] is None
    assert keeper.region_of("dev") == "eu-north-1"
    assert len(reads) == 4  # the watcher is told before every read


async def test_a_first_read_that_fails_serves_an_empty_config(
    broker: Broker, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text("[profile dev]\nregion = x\n[profile dev]\nregion = y\n")
    keeper = ConfigKeeper(path, broker, before_read=lambda: None)
    await keeper.reload()
    assert keeper.error is not None
    assert broker.config is not None and keeper.info()["profiles"] == 0


async def test_the_region_a_login_led_to_is_written_back_and_applied(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    path = tmp_path / "config"
    path.write_text(CONFIG)
    keeper = ConfigKeeper(path, broker, before_read=lambda: None)
    await keeper.reload()
    state = broker.sessions.get(KEY)
    assert state is not None
    await keeper.save_sso_region(state.spec, "eu-central-1")
    assert "sso_region = eu-central-1" in path.read_text()
    assert path.read_text().count("sso_region") == 1
    changed = broker.sessions.get(KEY)
    assert changed is not None and changed.spec.region == "eu-central-1"
