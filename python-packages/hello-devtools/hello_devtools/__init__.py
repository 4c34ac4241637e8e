"""Development checks for the hello-python sample; a dev requirement, never in the runtime image."""


def is_greeting(text: str) -> bool:
    """True when TEXT reads like a greet.greeting() result."""
    return text.startswith("Hello, ") and text.endswith("!")
