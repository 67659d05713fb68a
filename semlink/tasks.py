"""Florence-2's task prompts (transformers' ``Florence2Processor``), without and with a text input.

Kept literal, so that the command line and the services' request schemas know them without importing torch or
loading a processor; a test checks them against the processor's own lists.
"""

TASKS_WITHOUT_TEXT = ("<OCR>", "<OCR_WITH_REGION>", "<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>",
                      "<OD>", "<DENSE_REGION_CAPTION>", "<REGION_PROPOSAL>")
TASKS_WITH_TEXT = ("<CAPTION_TO_PHRASE_GROUNDING>", "<REFERRING_EXPRESSION_SEGMENTATION>", "<REGION_TO_SEGMENTATION>",
                   "<OPEN_VOCABULARY_DETECTION>", "<REGION_TO_CATEGORY>", "<REGION_TO_DESCRIPTION>",
                   "<REGION_TO_OCR>")
