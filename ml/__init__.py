"""Plain-Python ML for ReplyDesk bots: encoder, training, evaluation, index, versions, serving.

No Django imports here: this package runs on a training box alone.
"""
