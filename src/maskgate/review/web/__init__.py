"""The review app's routes, one router per area, so each file reads as one concern and its
security rules (login, role, CSRF, lease) sit in the signatures rather than in the handlers' first
lines: ``auth`` (login, logout), ``home`` (landing and the review page), ``tasks`` (the reviewer
screen's JSON API), ``files`` (images from registered roots), ``admin``; ``deps`` holds the shared
dependencies and ``api_schema`` the JSON API's models. ``maskgate.review.app`` puts them together.
"""
