"""Forge Invocation Token verification against a local RSA key and a JWKS on a real socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import yaml

from scopeguard.adapters.forge_token import (
    ForgeTokenError,
    ForgeTokenVerifier,
    InvocationContext,
    JwksCache,
    JwksUnavailableError,
)
from scopeguard.config import ConfigError, ForgeSettings, ForgeSiteSettings, parse_settings
from scopeguard.usecases.forge_access import normalize_site, site_matches
from tests.support.forge import (
    Fit,
    JwksServer,
    hs256_token,
    new_app_id,
    public_jwk,
    public_pem,
    rsa_key,
    serve_jwks,
    sign,
    unsigned_token,
)

KID = "forge-key-1"


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with serve_jwks(public_jwk(rsa_key("atlassian"), KID)) as server:
        yield server


@pytest.fixture
def app_id() -> str:
    return new_app_id()


@pytest.fixture
def fit(app_id: str) -> Fit:
    return Fit(app_id=app_id)


class Clock:
    """A monotonic clock the test moves by hand (JWKS cache TTL)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settings_for(app_id: str, jwks_url: str, **extra: Any) -> ForgeSettings:
    return ForgeSettings.model_validate(
        {"app_id": app_id, "jwks_url": jwks_url, "leeway_seconds": 5, **extra}
    )


@pytest.fixture
def verifier(app_id: str, jwks: JwksServer, clock: Clock) -> ForgeTokenVerifier:
    settings = settings_for(app_id, jwks.url, jwks_cache_seconds=300)
    cache = JwksCache(
        jwks.url,
        ttl_seconds=settings.jwks_cache_seconds,
        timeout_seconds=5,
        min_refetch_seconds=5,
        clock=clock,
    )
    return ForgeTokenVerifier(settings, cache)


def good_token(fit: Fit, **overrides: Any) -> str:
    return sign(
        fit.claims(extension=Fit.issue_panel("TOX-7"), **overrides), rsa_key("atlassian"), KID
    )


def refused(verifier: ForgeTokenVerifier, token: str) -> str:
    with pytest.raises(ForgeTokenError) as caught:
        verifier.verify(token)
    return caught.value.reason


# -- the accepted case ------------------------------------------------------------


def test_a_valid_token_yields_its_context(
    verifier: ForgeTokenVerifier, fit: Fit, app_id: str, jwks: JwksServer
) -> None:
    context = verifier.verify(good_token(fit))
    assert isinstance(context, InvocationContext)
    assert context.app_id == app_id
    assert context.installation_id == fit.installation_id
    assert context.site_url == fit.site_url
    assert context.cloud_id == fit.cloud_id
    assert context.extension_type == "jira:issuePanel"
    assert context.project_key == "TOX"
    assert context.issue_key == "TOX-7"
    assert context.principal == fit.principal
    assert context.environment_type == "DEVELOPMENT"
    assert jwks.hits == 1


def test_keys_are_cached_until_their_ttl_runs_out(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer, clock: Clock
) -> None:
    for _ in range(3):
        verifier.verify(good_token(fit))
    assert jwks.hits == 1
    clock.now += 299
    verifier.verify(good_token(fit))
    assert jwks.hits == 1
    clock.now += 2
    verifier.verify(good_token(fit))
    assert jwks.hits == 2


def test_expiry_within_the_leeway_is_accepted(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    now = time.time()
    verifier.verify(good_token(fit, iat=int(now - 30), nbf=int(now - 30), exp=int(now - 2)))


# -- refusals ---------------------------------------------------------------------


def test_an_expired_token_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    now = time.time()
    token = good_token(fit, iat=int(now - 120), nbf=int(now - 120), exp=int(now - 60))
    assert "expired" in refused(verifier, token)


def test_a_token_for_another_app_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    assert "audience" in refused(verifier, good_token(fit, aud=new_app_id())).lower()


def test_app_id_must_match_the_audience_too(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    claims = fit.claims(extension=Fit.project_page("TOX"))
    claims["app"]["id"] = new_app_id()
    assert "app.id" in refused(verifier, sign(claims, rsa_key("atlassian"), KID))


def test_a_token_without_app_claims_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    assert "app claim" in refused(verifier, good_token(fit, app="not-an-object"))


def test_a_token_from_another_issuer_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    assert "issuer" in refused(verifier, good_token(fit, iss="forge/not-invocation")).lower()


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_required_claims_must_be_present(
    verifier: ForgeTokenVerifier, fit: Fit, claim: str
) -> None:
    assert claim in refused(verifier, good_token(fit, **{claim: None}))


def test_a_token_not_yet_valid_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    later = time.time() + 120
    assert "not yet valid" in refused(
        verifier, good_token(fit, nbf=int(later), exp=int(later + 25))
    )
    assert "not yet valid" in refused(
        verifier, good_token(fit, iat=int(later), exp=int(later + 25))
    )


def test_a_tampered_payload_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    head, _body, signature = good_token(fit).split(".")
    forged_claims = fit.claims(extension=Fit.issue_panel("OTHER-1"))
    forged_body = unsigned_token({}, forged_claims).split(".")[1]
    assert "signature" in refused(verifier, f"{head}.{forged_body}.{signature}").lower()


def test_a_tampered_signature_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    token = good_token(fit)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert "signature" in refused(verifier, flipped).lower()


def test_a_token_signed_with_another_key_under_our_kid_is_refused(
    verifier: ForgeTokenVerifier, fit: Fit
) -> None:
    forged = sign(fit.claims(extension=Fit.project_page("TOX")), rsa_key("attacker"), KID)
    assert "signature" in refused(verifier, forged).lower()


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b", "a.b.c"])
def test_missing_or_malformed_tokens_are_refused(verifier: ForgeTokenVerifier, token: str) -> None:
    refused(verifier, token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer, alg: str
) -> None:
    token = unsigned_token({"alg": alg, "typ": "JWT", "kid": KID}, fit.claims())
    assert "not accepted" in refused(verifier, token)
    assert jwks.hits == 0, "refused before any key was looked up"


def test_hs256_signed_with_the_public_key_is_refused(
    verifier: ForgeTokenVerifier, fit: Fit
) -> None:
    # The classic key-confusion forgery: the attacker knows the public key and
    # uses its PEM as an HMAC secret, hoping the verifier lets the token pick HS256.
    secret = public_pem(rsa_key("atlassian"))
    header = {"alg": "HS256", "typ": "JWT", "kid": KID}
    assert "not accepted" in refused(verifier, hs256_token(header, fit.claims(), secret))
    # Claiming RS256 while carrying the HMAC does not help either.
    header["alg"] = "RS256"
    assert "signature" in refused(verifier, hs256_token(header, fit.claims(), secret)).lower()


def test_a_token_without_kid_is_refused(verifier: ForgeTokenVerifier, fit: Fit) -> None:
    token = jwt.encode(fit.claims(), rsa_key("atlassian"), algorithm="RS256")
    assert "kid" in refused(verifier, token)


def test_an_unknown_kid_refetches_once_then_refuses(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer, clock: Clock
) -> None:
    verifier.verify(good_token(fit))
    assert jwks.hits == 1
    stranger = sign(fit.claims(), rsa_key("attacker"), "made-up-kid")
    assert "unknown signing key" in refused(verifier, stranger)
    assert jwks.hits == 2, "one fetch to look for a rotated key"
    # A burst of made-up key ids must not turn into a burst of JWKS requests.
    for _ in range(5):
        refused(verifier, stranger)
    assert jwks.hits == 2
    clock.now += 6
    refused(verifier, stranger)
    assert jwks.hits == 3


def test_a_rotated_key_is_picked_up_on_first_sight(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer
) -> None:
    verifier.verify(good_token(fit))
    jwks.publish(public_jwk(rsa_key("atlassian"), KID), public_jwk(rsa_key("rotated"), "key-2"))
    rotated = sign(fit.claims(extension=Fit.project_page("HLT")), rsa_key("rotated"), "key-2")
    assert verifier.verify(rotated).project_key == "HLT"
    assert jwks.hits == 2


def test_non_rsa_keys_in_the_jwks_are_not_used(app_id: str, fit: Fit) -> None:
    # An HMAC ("oct") key published under a kid must never verify anything.
    secret = b"shared-secret-that-must-not-count"
    oct_key = {"kty": "oct", "kid": "hmac", "k": "c2hhcmVk", "alg": "HS256"}
    with serve_jwks(public_jwk(rsa_key("atlassian"), KID), oct_key) as server:
        verifier = ForgeTokenVerifier(settings_for(app_id, server.url))
        token = hs256_token({"alg": "RS256", "kid": "hmac"}, fit.claims(), secret)
        assert "unknown signing key" in refused(verifier, token)
        assert verifier.verify(good_token(fit)).issue_key == "TOX-7"


def test_an_unreachable_jwks_cannot_verify_anything(app_id: str, fit: Fit) -> None:
    with serve_jwks(public_jwk(rsa_key("atlassian"), KID)) as server:
        server.fail_status = 500
        verifier = ForgeTokenVerifier(settings_for(app_id, server.url))
        with pytest.raises(JwksUnavailableError):
            verifier.verify(good_token(fit))


def test_an_unreachable_jwks_is_not_hammered(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer, clock: Clock
) -> None:
    jwks.fail_status = 502
    for _ in range(5):
        with pytest.raises(JwksUnavailableError):
            verifier.verify(good_token(fit))
    assert jwks.hits == 1, "failures are remembered for a few seconds"
    jwks.fail_status = None
    clock.now += 6
    assert verifier.verify(good_token(fit)).issue_key == "TOX-7"
    assert jwks.hits == 2


def test_cached_keys_outlive_a_failed_refresh(
    verifier: ForgeTokenVerifier, fit: Fit, jwks: JwksServer, clock: Clock
) -> None:
    verifier.verify(good_token(fit))
    jwks.fail_status = 503
    clock.now += 3600
    assert verifier.verify(good_token(fit)).issue_key == "TOX-7"
    assert verifier.verify(good_token(fit)).issue_key == "TOX-7"
    assert jwks.hits == 2, "one failed refresh, then the cache answers for a while"
    jwks.fail_status = None
    clock.now += 6
    verifier.verify(good_token(fit))
    assert jwks.hits == 3, "refreshed once Atlassian answers again"


def test_a_jwks_without_usable_keys_is_unavailable(app_id: str, fit: Fit) -> None:
    with serve_jwks({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}) as server:
        verifier = ForgeTokenVerifier(settings_for(app_id, server.url))
        with pytest.raises(JwksUnavailableError):
            verifier.verify(good_token(fit))


# -- sites and configuration ------------------------------------------------------------


def test_site_urls_compare_by_scheme_host_and_port() -> None:
    assert normalize_site("https://Agency.Atlassian.net/") == "https://agency.atlassian.net"
    assert normalize_site("https://agency.atlassian.net:443") == "https://agency.atlassian.net"
    assert normalize_site("http://127.0.0.1:8081/") == "http://127.0.0.1:8081"
    assert normalize_site("https://a.atlassian.net") != normalize_site("https://b.atlassian.net")


def test_a_site_matches_only_when_every_named_identifier_does(app_id: str, fit: Fit) -> None:
    context = InvocationContext.from_claims(fit.claims())
    by_url = ForgeSiteSettings.model_validate({"url": "https://AGENCY.atlassian.net/"})
    assert site_matches(by_url, context)
    pinned = ForgeSiteSettings.model_validate(
        {"cloud_id": fit.cloud_id, "installation_id": fit.installation_id}
    )
    assert site_matches(pinned, context)
    wrong_install = ForgeSiteSettings.model_validate(
        {"url": fit.site_url, "installation_id": "ari:cloud:ecosystem::installation/other"}
    )
    assert not site_matches(wrong_install, context)
    other = ForgeSiteSettings.model_validate({"url": "https://rival.atlassian.net"})
    assert not site_matches(other, context)
    no_site_claim = InvocationContext.from_claims(
        {**fit.claims(), "context": {"cloudId": fit.cloud_id}}
    )
    assert not site_matches(by_url, no_site_claim), "a missing siteUrl never matches a url"


def _config(forge: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "jira": {"url": "https://agency.atlassian.net", "email": "a@b.c", "api_token": "t"},
            "forge": forge,
            "clients": [
                {
                    "key": "ACME",
                    "name": "ACME",
                    "jql": "project = ACME",
                    "contract": {
                        "start": "2026-09-01",
                        "scope": {"issues": 10},
                        "revisions_per_issue": 2,
                    },
                }
            ],
        }
    )


def test_the_forge_section_has_documented_defaults(app_id: str) -> None:
    settings = parse_settings(_config({"app_id": app_id}), env={})
    assert settings.forge is not None
    assert str(settings.forge.jwks_url) == (
        "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    )
    assert settings.forge.sites == ()


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        ({"app_id": "my-app"}, "forge.app_id"),
        ({"app_id": "ari:cloud:ecosystem::app/not-a-uuid"}, "forge.app_id"),
        ({"app_id": new_app_id(), "sites": [{"clients": ["ACME"]}]}, "name the site"),
        (
            {"app_id": new_app_id(), "sites": [{"cloud_id": "x", "clients": ["NOPE"]}]},
            "unknown clients: NOPE",
        ),
        ({"app_id": new_app_id(), "leeway": 5}, "forge.leeway"),
    ],
)
def test_bad_forge_sections_are_reported(forge: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(_config(forge), env={})
    assert message in str(caught.value)
