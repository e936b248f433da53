"""The admin app with the clinic's own site (its landing page is the attention view)."""

from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    default_site = "assessments.admin_site.ClinicAdminSite"
