"""Exception hierarchy: every error the library raises on purpose is a DenoiseError."""


class DenoiseError(Exception):
    """Base class for the errors `denoise` raises deliberately."""


class InvalidParameterError(DenoiseError, ValueError):
    """A parameter has a bad value or type, or is unknown to the method."""


class UnknownFilterError(InvalidParameterError):
    """No method is registered under the requested name."""


class MissingSigmaError(InvalidParameterError):
    """The method needs the noise level (sigma) to derive a default parameter."""


class ImageFormatError(DenoiseError, ValueError):
    """The array or file content is not an image the tool supports."""


class ImageIOError(DenoiseError, OSError):
    """A file cannot be read or written."""


class OutputExistsError(ImageIOError):
    """The output file exists (or another process created it meanwhile) and may not be
    replaced."""
