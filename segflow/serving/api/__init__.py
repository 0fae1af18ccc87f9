"""The scoring API: the application and its routes, authentication, and the request and response models."""
