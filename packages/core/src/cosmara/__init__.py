"""Cosmara: one engine between your application and every LLM provider.

>>> from cosmara import Cosmara
>>> client = Cosmara()  # providers whose keys are in the environment
>>> resp = client.chat(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
>>> resp.choices[0].message.content, resp.usage.total_tokens, resp.cosmara.cost_usd
"""

from cosmara._catalog import Catalog, ModelInfo, load_litellm_prices
from cosmara._clock import Clock
from cosmara._config import CosmaraConfig, ProviderSettings
from cosmara._context import RequestContext
from cosmara._cost import CostEstimate, cost_of_usage, estimate_cost
from cosmara._embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from cosmara._engine import Cosmara
from cosmara._errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ClientClosedError,
    ConfigurationError,
    ContentFilteredError,
    ContextWindowExceededError,
    CosmaraError,
    InvalidResponseError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    RateLimitExceededError,
    RequestRefusedError,
    RequestTimeoutError,
    RequestValidationError,
    StateStoreError,
    UnknownModelError,
)
from cosmara._health import BreakerPolicy, TargetHealth
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    ContentPart,
    DeveloperMessage,
    FileData,
    FilePart,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    InputAudio,
    InputAudioPart,
    JSONSchemaFormat,
    Message,
    NamedToolChoice,
    ResponseFormat,
    SystemMessage,
    TextPart,
    Tool,
    ToolCall,
    ToolContentPart,
    ToolMessage,
    UserMessage,
)
from cosmara._meta import Attempt, CosmaraMeta, Route
from cosmara._response import (
    ChatResponse,
    Choice,
    CompletionTokensDetails,
    PromptTokensDetails,
    Usage,
)
from cosmara._retry import RetryPolicy
from cosmara._secrets import Secret
from cosmara._stream import (
    ChatChunk,
    ChunkChoice,
    Delta,
    FunctionDelta,
    StreamAccumulator,
    ToolCallDelta,
)
from cosmara._timeouts import Timeouts
from cosmara._tracking import Spend, track_cost
from cosmara.hookspecs import hookimpl
from cosmara.pipeline import Call, Outcome, Stage

__version__ = "0.1.0"

__all__ = [
    "AssistantMessage",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BreakerPolicy",
    "BudgetExceededError",
    "Call",
    "Catalog",
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "Choice",
    "ChunkChoice",
    "ClientClosedError",
    "Clock",
    "CompletionTokensDetails",
    "ConfigurationError",
    "ContentFilteredError",
    "ContentPart",
    "ContextWindowExceededError",
    "Cosmara",
    "CosmaraConfig",
    "CosmaraError",
    "CosmaraMeta",
    "CostEstimate",
    "Delta",
    "DeveloperMessage",
    "Embedding",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "FileData",
    "FilePart",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionDelta",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "InputAudioPart",
    "InvalidResponseError",
    "JSONSchemaFormat",
    "Message",
    "MissingCredentialsError",
    "ModelInfo",
    "NamedToolChoice",
    "NotFoundError",
    "Outcome",
    "PermissionDeniedError",
    "PromptTokensDetails",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderSettings",
    "ProviderUnavailableError",
    "RateLimitError",
    "RateLimitExceededError",
    "RequestContext",
    "RequestRefusedError",
    "RequestTimeoutError",
    "RequestValidationError",
    "ResponseFormat",
    "RetryPolicy",
    "Route",
    "Secret",
    "Spend",
    "Stage",
    "StateStoreError",
    "StreamAccumulator",
    "SystemMessage",
    "TargetHealth",
    "TextPart",
    "Timeouts",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolContentPart",
    "ToolMessage",
    "UnknownModelError",
    "Usage",
    "UserMessage",
    "__version__",
    "cost_of_usage",
    "estimate_cost",
    "hookimpl",
    "load_litellm_prices",
    "track_cost",
]
