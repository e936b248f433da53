"""Authentication endpoints: session login with CSRF, per-device tokens, account activation."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_logged_in
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from clinic.api.errors import lockout_response
from clinic.api.fields import StrictCharField, StrictSerializerMixin
from clinic.api.schema import error_response
from patients.services import password_reset_confirm, password_reset_request, portal_account_activate
from patients.tokens import TokenAuthentication


class LoginSerializer(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=256, trim_whitespace=False)


class ActivateSerializer(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    token = StrictCharField(max_length=200)
    password = StrictCharField(max_length=256, trim_whitespace=False)


class ForgotSerializer(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    email = serializers.EmailField(max_length=254)


class ResetSerializer(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    uid = StrictCharField(max_length=64)
    token = StrictCharField(max_length=200)
    password = StrictCharField(max_length=256, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()
    expiry = serializers.DateTimeField()


class MessageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField()


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> Any:
        return reason


def enforce_csrf(request: Request) -> None:
    """Check the CSRF token even for an anonymous request (DRF checks it only for session users)."""
    check = _CsrfCheck(lambda _request: None)  # type: ignore[arg-type,return-value]
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise exceptions.PermissionDenied(f"CSRF failed: {str(reason).rstrip('.')}.")


def _credentials(request: Request) -> Any:
    """Authenticate email and password through django-axes; None with a 429 response when locked out."""
    data = LoginSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    # axes marks the underlying HttpRequest; its middleware and our check read the mark.
    user = authenticate(
        request._request, username=data.validated_data["email"].lower(), password=data.validated_data["password"]
    )
    if getattr(request._request, "axes_locked_out", False):
        return None
    if user is None or not user.is_active:
        raise exceptions.ValidationError(
            {"non_field_errors": [serializers.ErrorDetail("Email or password is wrong.", code="invalid_credentials")]}
        )
    return user


class LoginThrottled(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class CsrfView(LoginThrottled):
    @extend_schema(
        summary="Get a CSRF token",
        description="Sets the CSRF cookie and returns its token, for the browser portal: send it as the "
        "`X-CSRFToken` header of every unsafe request made with the session (login included).",
        responses=inline_serializer("CsrfToken", {"csrf_token": serializers.CharField()}),
    )
    def get(self, request: Request) -> Response:
        """Set the CSRF cookie and return its token, for the browser portal's unsafe requests."""
        return Response({"csrf_token": get_token(request._request)})


class SessionLoginView(LoginThrottled):
    @extend_schema(
        summary="Log in (browser session)",
        description="Starts a session (cookie). The CSRF token (cookie and `X-CSRFToken` header) is required. "
        "Repeated failures are locked out per account and address (429).",
        request=LoginSerializer,
        responses={
            200: MessageSerializer,
            403: error_response("The CSRF token is missing or wrong."),
        },
    )
    def post(self, request: Request) -> Response:
        """Start a browser session. The CSRF token (cookie and X-CSRFToken header) is required."""
        enforce_csrf(request)
        user = _credentials(request)
        if user is None:
            return lockout_response(request._request)  # type: ignore[return-value]
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response({"detail": "Logged in."})


class SessionLogoutView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get_authenticate_header(self, request: Request) -> str:
        # Without a WWW-Authenticate scheme DRF turns "not logged in" into a 403; API.md wants a 401.
        return "Session"

    @extend_schema(summary="Log out (browser session)", request=None, responses={200: MessageSerializer})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response({"detail": "Logged out."})


class TokenLoginView(LoginThrottled):
    @extend_schema(
        summary="Get a device token",
        description="Issues a per-device token (stored hashed, expiring at `expiry`): send it as "
        "`Authorization: Token <token>`. Repeated failures are locked out per account and address (429).",
        request=LoginSerializer,
        responses={200: TokenSerializer},
    )
    def post(self, request: Request) -> Response:
        """Issue a per-device token (stored hashed, expiring). Send it as ``Authorization: Token <token>``."""
        user = _credentials(request)
        if user is None:
            return lockout_response(request._request)  # type: ignore[return-value]
        _make_room_for_a_token(user)
        instance, token = AuthToken.objects.create(user=user)
        # As knox's own LoginView does: last_login is updated and axes resets the failure count.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


def _make_room_for_a_token(user: Any) -> None:
    """Keep at most TOKEN_LIMIT_PER_USER devices: expired tokens go first, then the oldest ones."""
    knox: dict[str, Any] = settings.REST_KNOX
    limit = int(knox.get("TOKEN_LIMIT_PER_USER") or 0)
    if not limit:
        return
    tokens = AuthToken.objects.filter(user=user)
    tokens.filter(expiry__lt=timezone.now()).delete()
    surplus = list(tokens.order_by("-created").values_list("pk", flat=True)[limit - 1 :])
    if surplus:
        AuthToken.objects.filter(pk__in=surplus).delete()


class TokenLogoutView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke this token",
        description="Revokes the token this request is made with.",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        """Revoke the token of this request."""
        request.auth.delete()  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenLogoutAllView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke every token",
        description="Revokes every token of the user: every device is signed out.",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        """Revoke every token of the user (all devices)."""
        AuthToken.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivateView(LoginThrottled):
    @extend_schema(
        summary="Activate an account",
        description="Sets the password from the single-use, expiring invitation link; the patient can then log "
        "in. A reused, expired or forged token is a 400.",
        request=ActivateSerializer,
        responses={200: MessageSerializer},
    )
    def post(self, request: Request) -> Response:
        """Set a password from a single-use, expiring invitation; then log in."""
        data = ActivateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        portal_account_activate(token=data.validated_data["token"], password=data.validated_data["password"])
        return Response({"detail": "Your account is active. You can now log in."})


class PerEmailThrottle(SimpleRateThrottle):
    """At most a few reset emails per address, whoever asks (keyed by a hash of the address, never the address)."""

    scope = "password_reset_email"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class PasswordForgotView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle, PerEmailThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        summary="Ask for a password-reset link",
        description="Emails a password-reset link to a patient's portal account. The answer is the same whether "
        "an account uses the address or not.",
        request=ForgotSerializer,
        responses={202: MessageSerializer},
    )
    def post(self, request: Request) -> Response:
        """Ask for a password-reset link (patients). The answer is the same whether an account exists or not."""
        data = ForgotSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"])
        return Response(
            {"detail": "If a portal account uses this address, we have sent it a link to choose a new password."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetView(LoginThrottled):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Reset the password",
        description="Sets a new password from a reset link; every token and session of the account ends.",
        request=ResetSerializer,
        responses={200: MessageSerializer},
    )
    def post(self, request: Request) -> Response:
        """Choose a new password from a reset link. Every token and session of the account ends."""
        data = ResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(**data.validated_data)
        return Response({"detail": "Your password is changed. Log in with the new one."})
