"""Model families and the registry (``fakevoice.models.registry``): name -> constructor."""
