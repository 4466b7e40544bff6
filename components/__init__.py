"""docpipe's reusable Pulumi components (type tokens `docpipe:index:<Type>`)."""

from components.document_store import DocumentStore, DocumentStoreArgs, QueueNotificationArgs
from components.document_workflow import DocumentWorkflow, DocumentWorkflowArgs, WorkflowStepArgs
from components.iam import PolicyConditionArgs, PolicyStatementArgs
from components.pipeline import CategoryArgs, DocumentPipeline, DocumentPipelineArgs, StageArgs
from components.queue_function import QueueFunction, QueueFunctionArgs, QueueProducerArgs
from components.results_table import ResultsTable, ResultsTableArgs, TableIndexArgs
from components.scheduled_trigger import ScheduledTrigger, ScheduledTriggerArgs

COMPONENTS = [
    QueueFunction,
    DocumentStore,
    ResultsTable,
    ScheduledTrigger,
    DocumentWorkflow,
    DocumentPipeline,
]

__all__ = [
    "COMPONENTS",
    "CategoryArgs",
    "DocumentPipeline",
    "DocumentPipelineArgs",
    "DocumentStore",
    "DocumentStoreArgs",
    "DocumentWorkflow",
    "DocumentWorkflowArgs",
    "PolicyConditionArgs",
    "PolicyStatementArgs",
    "QueueFunction",
    "QueueFunctionArgs",
    "QueueNotificationArgs",
    "QueueProducerArgs",
    "ResultsTable",
    "ResultsTableArgs",
    "ScheduledTrigger",
    "ScheduledTriggerArgs",
    "StageArgs",
    "TableIndexArgs",
    "WorkflowStepArgs",
]
