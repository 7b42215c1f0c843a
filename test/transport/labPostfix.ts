// The lab's Postfix A for a test file that puts the relay in front of it: started if it
// does not run, and stopped afterwards only if this file started it (the lab may run it
// for others; CROSSFOREST_KEEP_POSTFIX=1 keeps it for a look at its queue and log).
import { labPostfixSpec, type PostfixInstance, postfixRunning, startPostfix, stopPostfix } from '../../lab/postfix/postfix.ts';
import { ensureLab } from '../helpers/lab.ts';

export interface LabPostfix {
  labDir: string;
  postfix: PostfixInstance;
  release(): Promise<void>;
}

export async function labPostfixA(): Promise<LabPostfix> {
  const lab = await ensureLab();
  const spec = labPostfixSpec(lab.labDir, 'a');
  const started = !postfixRunning(spec);
  const postfix = await startPostfix(spec);
  return {
    labDir: lab.labDir,
    postfix,
    async release() {
      if (started && process.env.CROSSFOREST_KEEP_POSTFIX !== '1') await stopPostfix(postfix.dir);
    },
  };
}
