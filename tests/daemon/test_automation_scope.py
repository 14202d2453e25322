"""Which repositories a pass lists again: the scope a wakeup gives (pure, no I/O)."""

from conveyor.daemon.scan import PushedImage, ScanScope, ScanTarget

WEB = "127.0.0.1:5000/team/web"
API = "127.0.0.1:5000/team/api"
NGINX = "docker.io/library/nginx"


def test_a_full_scope_lists_every_repository_and_keeps_the_pushed_tags():
    scope = ScanScope.full([PushedImage(WEB, "1.2.4")])
    assert scope.target(WEB) == ScanTarget(WEB, relist=True, pushed_tags=("1.2.4",))
    assert scope.target(NGINX, needs_metadata=True) == ScanTarget(
        NGINX, needs_metadata=True, relist=True
    )


def test_a_targeted_scope_lists_only_the_pushed_repositories():
    scope = ScanScope.only([PushedImage(WEB, "1.2.4"), PushedImage(WEB, "1.2.5")])
    assert scope.repositories == frozenset({WEB})
    assert scope.target(WEB) == ScanTarget(WEB, relist=True, pushed_tags=("1.2.4", "1.2.5"))
    assert scope.target(API) == ScanTarget(API, relist=False)


def test_a_burst_of_pushes_is_one_scope_with_the_union_of_their_repositories():
    pushes = [PushedImage((WEB, API)[i % 2], f"1.0.{i}") for i in range(20)]
    scope = ScanScope.only(pushes)
    assert scope.repositories == frozenset({WEB, API})
    assert len(scope.target(WEB).pushed_tags) == len(scope.target(API).pushed_tags) == 10
    assert not scope.target(NGINX).relist


def test_the_default_scope_is_a_full_scan():
    assert ScanScope() == ScanScope.full()
    assert ScanScope().target(NGINX).relist
