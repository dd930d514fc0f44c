/* udpcork: inspect the corked UDP datagrams saved at checkpoint. */
#include "show.h"

int
main (int argc, char **argv)
{
  return uc_show_main (argc, argv);
}
