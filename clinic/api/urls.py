"""The portal API, version 1 (docs/api.md; the OpenAPI schema at /api/v1/schema/)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from assessments.api import AssessmentViewSet, DueView, TrendsView
from assessments.api_alerts import AlertViewSet
from assessments.api_fhir import PatientFhirView, QuestionnaireView
from assessments.api_questionnaires import QuestionnairesView
from patients import api_auth as auth
from patients.api import MeView, MyProgramView

router = SimpleRouter(trailing_slash=True)
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("auth/csrf/", auth.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login/", auth.SessionLoginView.as_view(), name="auth-login"),
    path("auth/logout/", auth.SessionLogoutView.as_view(), name="auth-logout"),
    path("auth/token/", auth.TokenLoginView.as_view(), name="auth-token"),
    path("auth/token/logout/", auth.TokenLogoutView.as_view(), name="auth-token-logout"),
    path("auth/token/logout-all/", auth.TokenLogoutAllView.as_view(), name="auth-token-logout-all"),
    path("auth/activate/", auth.ActivateView.as_view(), name="auth-activate"),
    path("auth/password/forgot/", auth.PasswordForgotView.as_view(), name="auth-password-forgot"),
    path("auth/password/reset/", auth.PasswordResetView.as_view(), name="auth-password-reset"),
    path("me/", MeView.as_view(), name="me"),
    path("me/program/", MyProgramView.as_view(), name="me-program"),
    path("me/trends/", TrendsView.as_view(), name="me-trends"),
    path("assessments/due/", DueView.as_view(), name="assessments-due"),
    path("questionnaires/", QuestionnairesView.as_view(), name="questionnaires"),
    path("patients/<int:pk>/fhir/", PatientFhirView.as_view(), name="patient-fhir"),
    path("fhir/Questionnaire/<str:name>", QuestionnaireView.as_view(), name="fhir-questionnaire"),
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Both from drf-spectacular-sidecar's static files; Redoc's template without the stock one's web fonts.
    path("redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
]
